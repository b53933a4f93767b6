package drive

// maxFileIDLen bounds a file ID; Drive's are 28 to 44 characters.
const maxFileIDLen = 128

// validFileID reports whether id can be a Drive file ID: letters, digits,
// '-' and '_' only. It keeps hostile IDs out of request paths, room names,
// Redis keys and logs.
func validFileID(id string) bool {
	if id == "" || len(id) > maxFileIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
