package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// On-disk format of a segment file named "%020d.seg" after the sequence
// number of its first record:
//
//	header  [8]byte "CPSPOOL" + format version (1)
//	frame*  [uint32 length][uint32 checksum][payload]   (little-endian)
//
// Records in a segment have consecutive sequence numbers starting at the
// name, so seq is never stored. The checksum is CRC-32C over
// le64(seq) ‖ le32(length) ‖ payload: covering the length catches a
// zero-filled tail (which would otherwise parse as empty records) and
// covering seq catches a frame that ended up in the wrong place.
const (
	segmentSuffix   = ".seg"
	segmentNameLen  = 20 + len(segmentSuffix)
	segmentHdrSize  = 8
	frameHdrSize    = 8
	segmentFileMode = 0o640
)

var segmentMagic = [segmentHdrSize]byte{'C', 'P', 'S', 'P', 'O', 'O', 'L', 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame-level corruption. scanSegment and the reader wrap these with the
// segment and offset.
var (
	errTornFrame = errors.New("torn frame")
	errChecksum  = errors.New("checksum mismatch")
	errFrameSize = errors.New("frame length over limit")
)

// segment is the in-memory view of one segment file. size counts only durable
// bytes (header plus fsynced frames); for the active segment it grows after
// every fsync. Guarded by Spool.mu.
type segment struct {
	first uint64 // seq of the first record (and the file name)
	size  int64
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segmentSuffix) }

// parseSegmentName returns the first seq encoded in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != segmentNameLen || !strings.HasSuffix(name, segmentSuffix) {
		return 0, false
	}
	first, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
	return first, err == nil && first > 0
}

// listSegments returns the first seqs of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var firsts []uint64
	for _, e := range entries {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)
	return firsts, nil
}

// frameChecksum is the CRC stored in a frame header.
func frameChecksum(seq uint64, payload []byte) uint32 {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], seq)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(payload)))
	return crc32.Update(crc32.Update(0, castagnoli, b[:]), castagnoli, payload)
}

// encodeFrames frames payloads back to back with zero checksums: checksums
// cover the sequence number, which only the committer assigns (sealFrames).
func encodeFrames(payloads [][]byte) []byte {
	var n int64
	for _, p := range payloads {
		n += frameSize(len(p))
	}
	buf := make([]byte, 0, n)
	for _, p := range payloads {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p)))
		buf = binary.LittleEndian.AppendUint32(buf, 0)
		buf = append(buf, p...)
	}
	return buf
}

// sealFrames fills in the checksums of the frames in buf, which carry
// consecutive records starting at seq, and returns the seq after the last.
func sealFrames(buf []byte, seq uint64) uint64 {
	for len(buf) > 0 {
		end := frameHdrSize + int(binary.LittleEndian.Uint32(buf))
		binary.LittleEndian.PutUint32(buf[4:], frameChecksum(seq, buf[frameHdrSize:end]))
		buf = buf[end:]
		seq++
	}
	return seq
}

// frameSize is the on-disk size of a frame carrying n payload bytes.
func frameSize(n int) int64 { return frameHdrSize + int64(n) }

// readFrame reads the frame for seq from br and verifies it. It reuses buf
// for the payload when it is large enough. A clean end of input before the
// header is io.EOF; anything else short is errTornFrame.
func readFrame(br *bufio.Reader, seq uint64, buf []byte) ([]byte, error) {
	var hdr [frameHdrSize]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, shortRead(err)
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n > MaxRecordBytes {
		return nil, fmt.Errorf("%w: %d bytes", errFrameSize, n)
	}
	payload := slices.Grow(buf[:0], int(n))[:n]
	if _, err := io.ReadFull(br, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the header was there: this is torn
		}
		return nil, shortRead(err)
	}
	if frameChecksum(seq, payload) != binary.LittleEndian.Uint32(hdr[4:]) {
		return nil, errChecksum
	}
	return payload, nil
}

// skipFrame advances br past one frame without verifying it and returns the
// frame's size. Only used on ranges that Open already verified.
func skipFrame(br *bufio.Reader) (int64, error) {
	var hdr [frameHdrSize]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, shortRead(err)
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if _, err := br.Discard(int(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, shortRead(err)
	}
	return frameSize(int(n)), nil
}

// shortRead maps io.ErrUnexpectedEOF to errTornFrame. io.EOF (nothing read
// at a frame boundary) and I/O errors pass through.
func shortRead(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errTornFrame
	}
	return err
}

// scanResult describes a segment as found on disk.
type scanResult struct {
	count     uint64 // valid records
	validSize int64  // bytes up to the end of the last valid record
	fileSize  int64
	tailErr   error // why the bytes after validSize are invalid; nil if none
}

// scanSegment verifies every frame of the segment starting at first. A bad
// header, torn frame or checksum mismatch ends the scan and is reported in
// tailErr; only I/O errors are returned as err.
func scanSegment(path string, first uint64) (scanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return scanResult{}, err
	}
	res := scanResult{fileSize: fi.Size()}
	br := bufio.NewReaderSize(f, 256<<10)

	var hdr [segmentHdrSize]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr != segmentMagic {
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return res, err
		}
		res.tailErr = fmt.Errorf("bad segment header %q", hdr[:])
		return res, nil
	}
	res.validSize = segmentHdrSize

	var buf []byte
	for seq := first; ; seq++ {
		payload, err := readFrame(br, seq, buf)
		switch {
		case err == io.EOF:
			return res, nil
		case errors.Is(err, errTornFrame), errors.Is(err, errChecksum), errors.Is(err, errFrameSize):
			res.tailErr = fmt.Errorf("record %d at offset %d: %w", seq, res.validSize, err)
			return res, nil
		case err != nil:
			return res, err
		}
		buf = payload
		res.count++
		res.validSize += frameSize(len(payload))
	}
}

// createSegment creates (or truncates a leftover of) the segment file for
// first, writes and fsyncs its header, and fsyncs dir so the file survives a
// crash. On error nothing usable is left behind.
func createSegment(dir string, first uint64) (*os.File, error) {
	path := filepath.Join(dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, segmentFileMode)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", segmentName(first), err)
	}
	if _, err = f.Write(segmentMagic[:]); err == nil {
		if err = f.Sync(); err == nil {
			err = syncDir(dir)
		}
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create segment %s: %w", segmentName(first), err)
	}
	return f, nil
}

// syncDir fsyncs a directory so that creations, renames and truncations of
// its entries are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
