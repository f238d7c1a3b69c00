package authenticator

import (
	"testing"
	"time"
)

func TestHub(t *testing.T) {
	var h hub
	a, cancelA := h.subscribe("t")
	b, cancelB := h.subscribe("t")
	other, cancelO := h.subscribe("u")
	defer cancelO()
	h.publish("t")
	h.publish("t") // coalesced: a signal, not a queue
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatal("subscriber not woken")
		}
	}
	select {
	case <-other:
		t.Fatal("another topic was woken")
	case <-a:
		t.Fatal("a doubled signal was queued")
	default:
	}
	cancelA()
	cancelB()
	if _, ok := h.subs["t"]; ok {
		t.Fatal("an empty topic was kept")
	}
	h.publish("t") // no subscribers: nothing happens
}
