// Command cosigcheck verifies C2SP tlog-cosignature "cosignature/v1" (Ed25519) signature
// lines on a signed checkpoint, written from the specification text with nothing but Go's
// standard library, so that Glasshouse's witness is checked against code it shares nothing with.
//
// Usage:
//
//	cosigcheck -key VKEY [FILE]
//
// VKEY is the witness's verifier key, name+hhhhhhhh+base64(0x04 || 32-byte public key).
// The signed note is read from FILE, or standard input. On success cosigcheck prints one
// JSON object (the witness name, key ID and timestamp) and exits 0; it exits 1 when no
// line is a valid cosignature by VKEY and 2 on a usage or input error.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Signature type of Ed25519 cosignatures (tlog-cosignature, Format).
const cosignatureV1Type = 0x04

type witnessKey struct {
	name  string
	keyID []byte
	pub   ed25519.PublicKey
}

func parseKey(text string) (*witnessKey, error) {
	parts := strings.SplitN(text, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("key is not name+keyid+base64")
	}
	keyID, err := hex.DecodeString(parts[1])
	if err != nil || len(keyID) != 4 {
		return nil, errors.New("key ID is not 8 hex digits")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureV1Type {
		return nil, errors.New("key is not 0x04 followed by a 32-byte Ed25519 key")
	}
	pub := ed25519.PublicKey(raw[1:])
	// Key ID: SHA-256(name || "\n" || 0x04 || public key)[:4].
	h := sha256.New()
	h.Write([]byte(parts[0]))
	h.Write([]byte{'\n', cosignatureV1Type})
	h.Write(pub)
	if !bytes.Equal(h.Sum(nil)[:4], keyID) {
		return nil, errors.New("key ID does not match name and key")
	}
	return &witnessKey{name: parts[0], keyID: keyID, pub: pub}, nil
}

type result struct {
	Name      string `json:"name"`
	KeyID     string `json:"keyId"`
	Timestamp uint64 `json:"timestamp"`
}

func check(key *witnessKey, note []byte) (*result, error) {
	split := bytes.LastIndex(note, []byte("\n\n"))
	if split < 0 || !bytes.HasSuffix(note, []byte("\n")) {
		return nil, errors.New("not a signed note")
	}
	body := note[:split+1]
	lines := strings.Split(strings.TrimSuffix(string(note[split+2:]), "\n"), "\n")
	for _, line := range lines {
		if !strings.HasPrefix(line, "\u2014 ") {
			return nil, errors.New("signature line without em dash")
		}
		rest := strings.TrimPrefix(line, "\u2014 ")
		name, encoded, ok := strings.Cut(rest, " ")
		if !ok || name != key.name {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(encoded)
		// timestamped_signature: key ID, u64 big-endian timestamp, 64-byte Ed25519 signature.
		if err != nil || len(sig) != 4+8+ed25519.SignatureSize || !bytes.Equal(sig[:4], key.keyID) {
			continue
		}
		timestamp := binary.BigEndian.Uint64(sig[4:12])
		if timestamp > 1<<63-1 {
			return nil, errors.New("timestamp exceeds 2^63 - 1")
		}
		message := "cosignature/v1\ntime " + strconv.FormatUint(timestamp, 10) + "\n" + string(body)
		if !ed25519.Verify(key.pub, []byte(message), sig[12:]) {
			return nil, errors.New("cosignature does not verify")
		}
		return &result{Name: name, KeyID: hex.EncodeToString(key.keyID), Timestamp: timestamp}, nil
	}
	return nil, errors.New("no cosignature by the key")
}

func main() {
	keyText := flag.String("key", "", "witness verifier key")
	flag.Parse()
	key, err := parseKey(*keyText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cosigcheck:", err)
		os.Exit(2)
	}
	var in io.Reader = os.Stdin
	if flag.NArg() == 1 && flag.Arg(0) != "-" {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "cosigcheck:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	note, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cosigcheck:", err)
		os.Exit(2)
	}
	res, err := check(key, note)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cosigcheck:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}
