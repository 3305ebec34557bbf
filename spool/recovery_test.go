package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFrameRoundTripAndCorruption(t *testing.T) {
	frames := encodeFrames([][]byte{[]byte("hello"), nil, []byte("world")})
	sealFrames(frames, 7)

	br := bufio.NewReader(bytes.NewReader(frames))
	for i, want := range []string{"hello", "", "world"} {
		got, err := readFrame(br, uint64(7+i), nil)
		if err != nil || string(got) != want {
			t.Fatalf("frame %d = %q, %v; want %q", i, got, err, want)
		}
	}
	if _, err := readFrame(br, 10, nil); err != io.EOF {
		t.Fatalf("read past end = %v, want io.EOF", err)
	}

	tests := []struct {
		name string
		data []byte
		seq  uint64
		want error
	}{
		{"wrong seq", frames, 8, errChecksum},
		{"flipped payload bit", flipByte(frames, frameHdrSize), 7, errChecksum},
		{"half header", frames[:4], 7, errTornFrame},
		{"half payload", frames[:frameHdrSize+2], 7, errTornFrame},
		{"zero-filled", make([]byte, 32), 7, errChecksum},
		{"huge length", append(binary.LittleEndian.AppendUint32(nil, MaxRecordBytes+1), 0, 0, 0, 0), 7, errFrameSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tt.data)), tt.seq, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("readFrame = %v, want %v", err, tt.want)
			}
		})
	}
}

func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x40
	return b
}

func TestOpenTruncatesTornTail(t *testing.T) {
	// A valid frame for seq 4 whose checksum is then broken.
	badCRC := encodeFrames([][]byte{[]byte("never acknowledged")})
	sealFrames(badCRC, 4)
	badCRC[5] ^= 1
	// A header announcing 100 bytes followed by only 10.
	halfPayload := append(binary.LittleEndian.AppendUint32(nil, 100), make([]byte, 4+10)...)

	tests := []struct {
		name string
		tail []byte
	}{
		{"half header", []byte{7, 0, 0}},
		{"half payload", halfPayload},
		{"bad checksum", badCRC},
		{"zero-filled", make([]byte, 4096)},
		{"garbage", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			want := map[uint64][]byte{1: []byte("one"), 2: []byte("two"), 3: []byte("three")}
			s := openTest(t, Options{Dir: dir}, hooks{})
			mustAppend(t, s, want[1], want[2])
			mustAppend(t, s, want[3])
			s.Close()
			path := lastSegmentPath(t, dir)
			validSize := fileSize(t, path)
			appendToFile(t, path, tt.tail)

			logs := &logRecorder{}
			s = openTest(t, Options{Dir: dir, Logger: slog.New(logs)}, hooks{})
			if got := fileSize(t, path); got != validSize {
				t.Fatalf("segment size after Open = %d, want %d (tail truncated)", got, validSize)
			}
			if w := logs.messages(slog.LevelWarn); len(w) != 1 || !strings.Contains(w[0], "torn tail") {
				t.Fatalf("warnings = %q, want one about the torn tail", w)
			}
			if st := s.Stats(); st.LastSeq != 3 || st.Bytes != validSize {
				t.Fatalf("Stats = %+v, want LastSeq 3, Bytes %d", st, validSize)
			}
			if seq := mustAppend(t, s, []byte("four"))[0]; seq != 4 {
				t.Fatalf("next seq = %d, want 4", seq)
			}
			want[4] = []byte("four")
			checkRecords(t, drain(t, mustReader(t, s, "check")), want)
		})
	}
}

func TestOpenRecreatesHeaderlessLastSegment(t *testing.T) {
	for _, content := range [][]byte{nil, segmentMagic[:5]} {
		dir := t.TempDir()
		s := openTest(t, Options{Dir: dir}, hooks{})
		mustAppend(t, s, []byte("one"))
		s.Close()
		// A crash while rolling to segment 2 left its file without a header.
		if err := os.WriteFile(filepath.Join(dir, segmentName(2)), content, 0o640); err != nil {
			t.Fatal(err)
		}

		s = openTest(t, Options{Dir: dir}, hooks{})
		if seq := mustAppend(t, s, []byte("two"))[0]; seq != 2 {
			t.Fatalf("seq = %d, want 2", seq)
		}
		checkRecords(t, drain(t, mustReader(t, s, "check")),
			map[uint64][]byte{1: []byte("one"), 2: []byte("two")})
	}
}

func TestOpenRejectsDamageBeforeTheTail(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string, segs []string)
		wantErr string
	}{
		{
			name: "corrupt record in an earlier segment",
			damage: func(t *testing.T, dir string, segs []string) {
				path := filepath.Join(dir, segs[0])
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(path, flipByte(b, len(b)-1), 0o640)
			},
			wantErr: "corrupt and not the last one",
		},
		{
			name: "torn earlier segment",
			damage: func(t *testing.T, dir string, segs []string) {
				path := filepath.Join(dir, segs[1])
				os.Truncate(path, fileSize(t, path)-3)
			},
			wantErr: "corrupt and not the last one",
		},
		{
			name: "missing middle segment",
			damage: func(t *testing.T, dir string, segs []string) {
				os.Remove(filepath.Join(dir, segs[1]))
			},
			wantErr: "expected it to start at record",
		},
		{
			name: "cursor beyond the end",
			damage: func(t *testing.T, dir string, segs []string) {
				os.WriteFile(filepath.Join(dir, "late"+cursorSuffix), []byte("1000\n"), 0o640)
			},
			wantErr: "acknowledged records are missing",
		},
		{
			name: "foreign file as last segment",
			damage: func(t *testing.T, dir string, segs []string) {
				os.WriteFile(filepath.Join(dir, segmentName(5)), []byte("not a spool segment"), 0o640)
			},
			wantErr: "bad segment header",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, Options{Dir: dir, SegmentBytes: 64}, hooks{})
			for range 4 {
				mustAppend(t, s, payload("rec", 40)) // one record per segment
			}
			s.Close()
			segs := segmentFiles(t, dir)
			if len(segs) != 4 {
				t.Fatalf("setup: %d segments, want 4", len(segs))
			}
			tt.damage(t, dir, segs)

			s, err := Open(Options{Dir: dir})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a damaged spool")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
