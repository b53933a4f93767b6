package proxy

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// errTooBig is returned when a decompressed body exceeds MaxMatchBody.
var errTooBig = errors.New("decompressed body exceeds MaxMatchBody")

// teeBody passes the upstream body through unchanged while keeping a bounded
// copy when triggers need it, and settles the firing when it is closed.
type teeBody struct {
	rc       io.ReadCloser
	f        *firing
	max      int64
	buf      []byte
	tooBig   bool
	complete bool
	once     sync.Once
}

func newTeeBody(rc io.ReadCloser, f *firing, contentLength, max int64) *teeBody {
	b := &teeBody{rc: rc, f: f, max: max}
	if f.needBody {
		switch {
		case contentLength > max:
			b.tooBig = true
		case contentLength > 0:
			b.buf = make([]byte, 0, contentLength)
		}
	}
	return b
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && b.f.needBody && !b.tooBig {
		if int64(len(b.buf))+int64(n) > b.max {
			b.tooBig, b.buf = true, nil
		} else {
			b.buf = append(b.buf, p[:n]...)
		}
	}
	if err == io.EOF {
		b.complete = true
	}
	return n, err
}

// Close closes the upstream body and then fires: the proxy closes it after
// the whole body has been written to the client, or after a failed copy.
func (b *teeBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() { b.f.finish(b.complete, b.tooBig, b.buf) })
	return err
}

// decodeBody undoes the response's Content-Encoding on the captured copy,
// reading at most max bytes of output.
func decodeBody(raw []byte, encoding string, max int64) ([]byte, error) {
	var r io.Reader
	switch enc := strings.ToLower(strings.TrimSpace(encoding)); enc {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(raw))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(raw), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(8<<20))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", encoding)
	}
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("decompress %s body: %w", encoding, err)
	}
	if int64(len(out)) > max {
		return nil, errTooBig
	}
	return out, nil
}
