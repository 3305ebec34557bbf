package scoring

// BookReads is the touch rows s's book has read from ClickHouse.
func BookReads(s *Scorer) int {
	s.book.mu.Lock()
	defer s.book.mu.Unlock()
	return s.book.reads
}
