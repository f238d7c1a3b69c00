package signin

import "testing"

// TestStateTable: every state has its moves listed, and the passkey state
// (a sign-in without a user name) accepts only the passkey's answer and
// leads where a first factor may lead.
func TestStateTable(t *testing.T) {
	for s := range transitions {
		if _, ok := next[s]; !ok && s != StateBlocked {
			t.Errorf("state %s has no moves listed", s)
		}
	}
	for _, a := range []Action{ActPassword, ActTAP, ActSelect, ActVerify, ActRegisterBegin, ActRegisterFinish, ActSkip, ActChangePassword} {
		if StatePasskey.allows(a) {
			t.Errorf("passkey state allows %s", a)
		}
	}
	if !StatePasskey.allows(ActPasskey) || StatePassword.allows(ActPasskey) || StateMFA.allows(ActPasskey) {
		t.Error("only the passkey state takes a passkey's answer")
	}
	for _, to := range []State{StateMFA, StateRegister, StateChangePassword, StateDone, StateBlocked} {
		if err := checkMove(StatePasskey, to); err != nil {
			t.Error(err)
		}
	}
	if checkMove(StatePasskey, StatePassword) == nil || checkMove(StateDone, StatePasskey) == nil {
		t.Error("illegal moves allowed")
	}
}
