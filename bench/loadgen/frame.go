package loadgen

import (
	"encoding/binary"
	"fmt"
)

// parseFrame decodes the websocket frame at the start of b. size is the frame's length in b,
// 0 when b holds only part of it. Server frames are never masked.
func parseFrame(b []byte) (op byte, fin bool, payload []byte, size int, err error) {
	if len(b) < 2 {
		return 0, false, nil, 0, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	if b[1]&0x80 != 0 {
		return 0, false, nil, 0, fmt.Errorf("%w: masked frame from server", ErrFrame)
	}
	n, hdr := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, false, nil, 0, nil
		}
		n, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, false, nil, 0, nil
		}
		n, hdr = binary.BigEndian.Uint64(b[2:]), 10
	}
	if n > maxFrame {
		return 0, false, nil, 0, fmt.Errorf("%w: %d-byte frame", ErrFrame, n)
	}
	if uint64(len(b)-hdr) < n {
		return 0, false, nil, 0, nil
	}
	end := hdr + int(n)
	return op, fin, b[hdr:end], end, nil
}
