// Command notecheck checks Glasshouse's log artifacts with Go's own implementation of
// signed notes and tiled logs (golang.org/x/mod/sumdb/note and sumdb/tlog), so that
// the TypeScript code is tested against an implementation it shares nothing with.
//
// Usage:
//
//	notecheck note  -key VKEY [-key VKEY]... [-origin ORIGIN] [FILE]
//	notecheck tiles -key VKEY [-key VKEY]... -dir DIR|URL [-origin ORIGIN] [-records all|N]
//
// "note" verifies a signed checkpoint (C2SP signed-note, C2SP tlog-checkpoint) read from
// FILE, or standard input when FILE is absent or "-". "tiles" verifies DIR/checkpoint the
// same way, recomputes its root hash from the C2SP tlog-tiles hash tiles under DIR/tile/
// (height 8), and proves the inclusion of N records (default 16, spread over the log; "all"
// for every record) read from the entry bundles under DIR/tile/entries/. Given an http(s)
// URL instead of DIR, it reads the same paths below the URL, as a client of a log served
// from an object store's bucket would.
//
// On success notecheck prints one JSON object and exits 0. It exits 1 when verification
// fails and 2 on a usage or input error.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is fixed by C2SP tlog-tiles: tiles are 256 hashes wide.
const tileHeight = 8

// treeSizeLine is C2SP tlog-checkpoint's tree size: decimal without leading zeroes.
var treeSizeLine = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

type keyList []string

func (k *keyList) String() string     { return strings.Join(*k, ",") }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

// verifyError is a verification failure (exit 1), as opposed to a usage error (exit 2).
type verifyError struct{ error }

func failf(format string, args ...interface{}) error {
	return verifyError{fmt.Errorf(format, args...)}
}

type checkpoint struct {
	origin string
	size   int64
	hash   tlog.Hash
}

type signature struct {
	Name  string `json:"name"`
	KeyID string `json:"keyId"`
}

type report struct {
	Origin         string      `json:"origin"`
	TreeSize       int64       `json:"treeSize"`
	RootHash       string      `json:"rootHash"`
	Signatures     []signature `json:"signatures"`
	RecordsChecked *int64      `json:"recordsChecked,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var out *report
	var err error
	switch os.Args[1] {
	case "note":
		out, err = runNote(os.Args[2:])
	case "tiles":
		out, err = runTiles(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck:", err)
		var v verifyError
		if errors.As(err, &v) {
			os.Exit(1)
		}
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: notecheck note -key VKEY [-key VKEY]... [-origin ORIGIN] [FILE]")
	fmt.Fprintln(os.Stderr, "       notecheck tiles -key VKEY [-key VKEY]... -dir DIR [-origin ORIGIN] [-records all|N]")
	os.Exit(2)
}

func runNote(args []string) (*report, error) {
	flags := flag.NewFlagSet("note", flag.ContinueOnError)
	var keys keyList
	flags.Var(&keys, "key", "trusted verifier key `name+hash+base64` (repeatable)")
	origin := flags.String("origin", "", "expected checkpoint origin")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if flags.NArg() > 1 {
		return nil, errors.New("at most one FILE")
	}
	var msg []byte
	var err error
	if name := flags.Arg(0); name == "" || name == "-" {
		msg, err = io.ReadAll(os.Stdin)
	} else {
		msg, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	n, cp, err := openCheckpoint(msg, keys, *origin)
	if err != nil {
		return nil, err
	}
	return newReport(n, cp), nil
}

func runTiles(args []string) (*report, error) {
	flags := flag.NewFlagSet("tiles", flag.ContinueOnError)
	var keys keyList
	flags.Var(&keys, "key", "trusted verifier key `name+hash+base64` (repeatable)")
	origin := flags.String("origin", "", "expected checkpoint origin")
	dir := flags.String("dir", "", "directory or http(s) URL holding checkpoint and tile/")
	records := flags.String("records", "16", "records to prove: a count spread over the log, or all")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *dir == "" || flags.NArg() != 0 {
		return nil, errors.New("tiles takes -dir DIR and no arguments")
	}
	msg, err := readLogFile(*dir, "checkpoint")
	if err != nil {
		return nil, err
	}
	n, cp, err := openCheckpoint(msg, keys, *origin)
	if err != nil {
		return nil, err
	}
	indexes, err := recordIndexes(*records, cp.size)
	if err != nil {
		return nil, err
	}
	tree := tlog.Tree{N: cp.size, Hash: cp.hash}
	hashes := tlog.TileHashReader(tree, dirTileReader{dir: *dir})
	if err := checkTreeHash(cp, hashes); err != nil {
		return nil, err
	}
	bundles := entryBundles{dir: *dir, size: cp.size, cache: map[int64][][]byte{}}
	for _, i := range indexes {
		if err := checkRecord(cp, hashes, &bundles, i); err != nil {
			return nil, err
		}
	}
	out := newReport(n, cp)
	checked := int64(len(indexes))
	out.RecordsChecked = &checked
	return out, nil
}

func openCheckpoint(msg []byte, keys []string, origin string) (*note.Note, checkpoint, error) {
	if len(keys) == 0 {
		return nil, checkpoint{}, errors.New("at least one -key is needed")
	}
	var verifiers []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, checkpoint{}, fmt.Errorf("verifier key %q: %v", k, err)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		return nil, checkpoint{}, failf("note: %v", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, checkpoint{}, failf("checkpoint: %v", err)
	}
	if origin != "" && cp.origin != origin {
		return nil, checkpoint{}, failf("checkpoint: origin %q, want %q", cp.origin, origin)
	}
	return n, cp, nil
}

// parseCheckpoint reads C2SP tlog-checkpoint note text. tlog.ParseTree is not used: it
// reads the Go checksum database's fixed "go.sum database tree" header instead of an origin.
func parseCheckpoint(text string) (checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return checkpoint{}, errors.New("text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("fewer than three lines")
	}
	for _, line := range lines {
		if line == "" {
			return checkpoint{}, errors.New("empty line")
		}
	}
	if !treeSizeLine.MatchString(lines[1]) {
		return checkpoint{}, fmt.Errorf("malformed tree size %q", lines[1])
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, fmt.Errorf("tree size: %v", err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("malformed root hash %q", lines[2])
	}
	var hash tlog.Hash
	copy(hash[:], raw)
	return checkpoint{origin: lines[0], size: size, hash: hash}, nil
}

func checkTreeHash(cp checkpoint, hashes tlog.HashReader) error {
	if cp.size == 0 {
		// RFC 6962 §2.1: the hash of the empty tree is SHA-256 of nothing; tlog returns zeroes.
		if cp.hash != tlog.Hash(sha256.Sum256(nil)) {
			return failf("empty tree: root hash is not SHA-256 of the empty string")
		}
		return nil
	}
	root, err := tlog.TreeHash(cp.size, hashes)
	if err != nil {
		return failf("tiles: %v", err)
	}
	if root != cp.hash {
		return failf("tiles hash to %v, checkpoint says %v", root, cp.hash)
	}
	return nil
}

func checkRecord(cp checkpoint, hashes tlog.HashReader, bundles *entryBundles, i int64) error {
	entry, err := bundles.entry(i)
	if err != nil {
		return err
	}
	proof, err := tlog.ProveRecord(cp.size, i, hashes)
	if err != nil {
		return failf("record %d: %v", i, err)
	}
	if err := tlog.CheckRecord(proof, cp.size, cp.hash, i, tlog.RecordHash(entry)); err != nil {
		return failf("record %d: %v", i, err)
	}
	return nil
}

// recordIndexes spreads count indexes over [0, size), always including the first and last.
func recordIndexes(spec string, size int64) ([]int64, error) {
	count := size
	if spec != "all" {
		n, err := strconv.ParseInt(spec, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-records %q is neither all nor a count", spec)
		}
		if n < size {
			count = n
		}
	}
	var out []int64
	for k := int64(0); k < count; k++ {
		if count == 1 {
			out = append(out, size-1)
			break
		}
		out = append(out, k*(size-1)/(count-1))
	}
	return out, nil
}

func newReport(n *note.Note, cp checkpoint) *report {
	out := &report{Origin: cp.origin, TreeSize: cp.size, RootHash: base64.StdEncoding.EncodeToString(cp.hash[:])}
	for _, s := range n.Sigs {
		out.Signatures = append(out.Signatures, signature{Name: s.Name, KeyID: fmt.Sprintf("%08x", s.Hash)})
	}
	return out
}

// c2spPath maps Go's tile path, tile/H/L/N[.p/W] (tile/H/data/… for entries), to the
// C2SP tlog-tiles path, tile/L/N[.p/W] (tile/entries/… for entry bundles).
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", t.H))
	if t.L == -1 {
		p = "entries" + strings.TrimPrefix(p, "data")
	}
	return "tile/" + p
}

// readTile reads a tile, falling back from a partial tile to the full one: C2SP
// tlog-tiles §Partial Tiles lets a log delete partial tiles once the full tile exists.
func readTile(dir string, t tlog.Tile) (data []byte, full bool, err error) {
	data, err = readLogFile(dir, c2spPath(t))
	if errors.Is(err, fs.ErrNotExist) && t.W < 1<<uint(t.H) {
		whole := t
		whole.W = 1 << uint(t.H)
		data, err = readLogFile(dir, c2spPath(whole))
		full = true
	}
	if err != nil {
		return nil, false, failf("tile %s: %v", c2spPath(t), err)
	}
	return data, full, nil
}

// readLogFile reads the log's file at the slash-separated path below base: a directory, or
// an http(s) URL (a 404 reads as a missing file).
func readLogFile(base, path string) ([]byte, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return os.ReadFile(filepath.Join(base, filepath.FromSlash(path)))
	}
	url := strings.TrimSuffix(base, "/") + "/" + path
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %w", url, fs.ErrNotExist)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

type dirTileReader struct{ dir string }

func (r dirTileReader) Height() int { return tileHeight }

func (r dirTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, full, err := readTile(r.dir, t)
		if err != nil {
			return nil, err
		}
		if want := t.W * tlog.HashSize; full && len(data) >= want {
			data = data[:want]
		}
		out[i] = data
	}
	return out, nil
}

func (r dirTileReader) SaveTiles([]tlog.Tile, [][]byte) {}

type entryBundles struct {
	dir   string
	size  int64
	cache map[int64][][]byte
}

// entry returns record i from its entry bundle: big-endian uint16 length-prefixed
// entries (C2SP tlog-tiles §Log entries).
func (b *entryBundles) entry(i int64) ([]byte, error) {
	n := i >> tileHeight
	entries, ok := b.cache[n]
	if !ok {
		t := tlog.Tile{H: tileHeight, L: -1, N: n, W: 1 << tileHeight}
		if rest := b.size - n<<tileHeight; rest < int64(t.W) {
			t.W = int(rest)
		}
		data, full, err := readTile(b.dir, t)
		if err != nil {
			return nil, err
		}
		entries, err = splitBundle(data)
		if err != nil {
			return nil, failf("entry bundle %s: %v", c2spPath(t), err)
		}
		if full && len(entries) >= t.W {
			entries = entries[:t.W]
		}
		if len(entries) != t.W {
			return nil, failf("entry bundle %s: %d entries, want %d", c2spPath(t), len(entries), t.W)
		}
		b.cache[n] = entries
	}
	return entries[i-n<<tileHeight], nil
}

func splitBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	r := bytes.NewReader(data)
	for r.Len() > 0 {
		var size uint16
		if err := binary.Read(r, binary.BigEndian, &size); err != nil {
			return nil, errors.New("truncated length prefix")
		}
		entry := make([]byte, size)
		if _, err := io.ReadFull(r, entry); err != nil {
			return nil, errors.New("truncated entry")
		}
		entries = append(entries, entry)
	}
	return entries, nil
}
