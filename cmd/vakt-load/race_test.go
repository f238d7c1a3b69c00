//go:build race

package main

// raceEnabled: the tests build the tool with -race too.
const raceEnabled = true
