package signin

import "fmt"

// State is where an interactive sign-in stands. The legal moves between
// states are listed once, in transitions; docs/signin-flow.md draws them.
type State string

const (
	// StatePassword: the user named themselves and must prove it (a
	// password, or a Temporary Access Pass where allowed).
	StatePassword State = "password"
	// StateMFA: a second factor is required; one option is selected.
	StateMFA State = "mfa"
	// StateRegister: the user must (or may) register a method first.
	StateRegister State = "register"
	// StateChangePassword: a new password is required.
	StateChangePassword State = "changePassword"
	// StateDone: signed in; a session was issued. Terminal.
	StateDone State = "done"
	// StateBlocked: policy or lockout ended the sign-in. Terminal.
	StateBlocked State = "blocked"
	// StatePasskey: a sign-in without a user name waits for a passkey's
	// assertion, which names the user and counts as multi-factor.
	StatePasskey State = "passkey"
)

// Action is what a client asks a flow to do.
type Action string

const (
	ActPassword       Action = "password"
	ActTAP            Action = "tap"
	ActSelect         Action = "select"
	ActVerify         Action = "verify"
	ActRegisterBegin  Action = "registerBegin"
	ActRegisterFinish Action = "registerFinish"
	ActSkip           Action = "skip"
	ActChangePassword Action = "changePassword"
	// ActPushPoll asks for the outcome of a push (the sign-in's, or a new
	// device's test push while registering).
	ActPushPoll Action = "pushPoll"
	ActPasskey  Action = "passkey"
)

// transitions lists, per state, the actions it accepts. Where an action
// leads is the decision's business (policy.Decide); that it may be taken
// at all is decided here, in one place.
var transitions = map[State][]Action{
	StatePassword:       {ActPassword, ActTAP},
	StateMFA:            {ActSelect, ActVerify, ActPushPoll},
	StateRegister:       {ActRegisterBegin, ActRegisterFinish, ActSkip, ActPushPoll},
	StateChangePassword: {ActChangePassword},
	StateDone:           nil,
	StateBlocked:        nil,
	StatePasskey:        {ActPasskey},
}

// next lists the states an action may lead to from a state.
var next = map[State][]State{
	StatePassword:       {StatePassword, StateMFA, StateRegister, StateChangePassword, StateDone, StateBlocked},
	StateMFA:            {StateMFA, StateRegister, StateChangePassword, StateDone, StateBlocked},
	StateRegister:       {StateRegister, StateMFA, StateChangePassword, StateDone, StateBlocked},
	StateDone:           {StateDone},
	StateChangePassword: {StateChangePassword, StateRegister, StateDone, StateBlocked},
	StatePasskey:        {StatePasskey, StateMFA, StateRegister, StateChangePassword, StateDone, StateBlocked},
}

// allows reports whether a state accepts an action.
func (s State) allows(a Action) bool {
	for _, x := range transitions[s] {
		if x == a {
			return true
		}
	}
	return false
}

// checkMove refuses a transition the table does not list; it guards the
// engine against its own mistakes, so it panics only in tests' eyes —
// in production it returns an error.
func checkMove(from, to State) error {
	for _, s := range next[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("signin: illegal transition %s → %s", from, to)
}
