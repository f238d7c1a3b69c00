//go:build ignore

// Command genbanned regenerates ../banned.txt, the embedded list of banned
// passwords, from the "passwords" frequency list shipped in the zxcvbn npm
// package (version 4.4.2, MIT licence, lib/frequency_lists.js: 30,000 of the
// most common passwords from leaked-password corpora, most frequent first).
//
// It was run exactly like this, from the repository root, with the tarball
// fetched into a temporary directory outside the repository:
//
//	dir=$(mktemp -d) && (cd "$dir" && npm pack zxcvbn@4.4.2)
//	go run internal/password/genbanned/main.go -o internal/password/banned.txt "$dir/zxcvbn-4.4.2.tgz"
//
// The tarball's SHA-256 is pinned below so a different artefact is refused
// (the registry's dist.shasum for it is 28ec17cf09743edcab056ddd8b1b06262cc73c30).
// Output: lower-cased, trimmed, de-duplicated, byte-wise sorted, one password
// per line, nothing else. Nothing is downloaded by the program itself or by
// the package at run time.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

const (
	wantSHA256 = "0b3ebb60ec2df2340e1b8b70e4cb2657a3ceb192781d299310e7aceaa606cd22" // zxcvbn-4.4.2.tgz
	member     = "package/lib/frequency_lists.js"
	// The list is a single CoffeeScript-generated line:  passwords: "a,b,c".split(",")
	startMark = `passwords: "`
	endMark   = `".split(",")`
	minCount  = 10000
)

func main() {
	out := flag.String("o", "banned.txt", "output file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go run main.go -o banned.txt zxcvbn-4.4.2.tgz")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "genbanned:", err)
		os.Exit(1)
	}
}

func run(tgz, out string) error {
	raw, err := os.ReadFile(tgz)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != wantSHA256 {
		return fmt.Errorf("%s: sha256 %x, want %s (zxcvbn@4.4.2)", tgz, sum, wantSHA256)
	}
	js, err := extract(raw)
	if err != nil {
		return err
	}
	i := strings.Index(js, startMark)
	if i < 0 {
		return errors.New("passwords list not found")
	}
	js = js[i+len(startMark):]
	j := strings.Index(js, endMark)
	if j < 0 {
		return errors.New("end of passwords list not found")
	}

	body, err := unescapeJS(js[:j])
	if err != nil {
		return err
	}

	seen := make(map[string]bool)
	var list []string
	for _, p := range strings.Split(body, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" || strings.ContainsAny(p, "\n\r") || seen[p] {
			continue
		}
		seen[p] = true
		list = append(list, p)
	}
	if len(list) < minCount {
		return fmt.Errorf("only %d passwords extracted, want >= %d", len(list), minCount)
	}
	slices.Sort(list)

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, p := range list {
		w.WriteString(p)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d passwords to %s\n", len(list), out)
	return nil
}

// extract returns the contents of member from the gzipped npm tarball.
func extract(tgz []byte) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s not in tarball", member)
		}
		if err != nil {
			return "", err
		}
		if h.Name == member {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}

// unescapeJS undoes the only escapes a CoffeeScript string literal of this
// list can hold (the list contains "pic's", written pic\'s); anything else
// is refused rather than guessed.
func unescapeJS(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) || !strings.ContainsRune(`'"\\`, rune(s[i+1])) {
			return "", fmt.Errorf("unsupported escape at offset %d", i)
		}
		i++
		b.WriteByte(s[i])
	}
	return b.String(), nil
}
