package recordings

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errTooLarge fails a fetch permanently: the recording exceeds MaxBytes.
var errTooLarge = errors.New("recording exceeds the size limit")

// blobs is the content-addressed file store:
// <dir>/<sha256[:2]>/<sha256><ext>, where ext follows from the content type.
// Files are written to a temporary file, fsynced, and renamed into place, so
// a path that exists always holds the complete file. Equal content shares
// one file; writing it again replaces it with identical bytes.
type blobs struct {
	dir string
}

const tmpPrefix = ".tmp-"

// openBlobs creates dir and removes temporary files a crash left behind.
func openBlobs(dir string) (*blobs, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create recordings directory: %w", err)
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, tmpPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("list temporary recording files: %w", err)
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("remove temporary recording file: %w", err)
		}
	}
	return &blobs{dir: dir}, nil
}

// path is where the file with this hash and content type lives. sum must be
// 64 lower-case hex digits (it comes from the catalog, so it is checked).
func (b *blobs) path(sum, contentType string) (string, error) {
	if len(sum) != sha256.Size*2 || strings.Trim(sum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("recording hash %q is not a SHA-256", sum)
	}
	return filepath.Join(b.dir, sum[:2], sum+extension(contentType)), nil
}

// write stores r's content, at most limit bytes, and returns its SHA-256 and
// size. More than limit bytes is errTooLarge; nothing is kept then, nor on
// any other error.
func (b *blobs) write(r io.Reader, limit int64, contentType string) (sum string, n int64, err error) {
	f, err := os.CreateTemp(b.dir, tmpPrefix+"*")
	if err != nil {
		return "", 0, fmt.Errorf("create temporary recording file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err != nil {
		return "", n, fmt.Errorf("download recording: %w", err)
	}
	if n > limit {
		return "", n, fmt.Errorf("more than %d bytes: %w", limit, errTooLarge)
	}
	if err := f.Sync(); err != nil {
		return "", n, fmt.Errorf("fsync recording file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", n, fmt.Errorf("close recording file: %w", err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	final, _ := b.path(sum, contentType) // sum is well-formed
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return "", n, fmt.Errorf("create recording directory: %w", err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return "", n, fmt.Errorf("move recording into place: %w", err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return "", n, err
	}
	if err := syncDir(b.dir); err != nil { // the shard directory may be new
		return "", n, err
	}
	return sum, n, nil
}

// syncDir makes a rename or new entry in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory to fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// extensions of the stored audio types; anything else is stored as ".bin".
var extensions = map[string]string{
	"audio/mpeg":     ".mp3",
	"audio/mp3":      ".mp3",
	"audio/wav":      ".wav",
	"audio/wave":     ".wav",
	"audio/x-wav":    ".wav",
	"audio/vnd.wave": ".wav",
	"audio/ogg":      ".ogg",
	"audio/opus":     ".opus",
	"audio/webm":     ".webm",
	"audio/mp4":      ".m4a",
	"audio/x-m4a":    ".m4a",
	"audio/aac":      ".aac",
	"audio/flac":     ".flac",
	"audio/x-flac":   ".flac",
	"audio/gsm":      ".gsm",
	"audio/x-gsm":    ".gsm",
}

func extension(contentType string) string {
	if ext, ok := extensions[contentType]; ok {
		return ext
	}
	return ".bin"
}
