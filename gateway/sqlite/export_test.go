package sqlite

// SetStatementJournalInMemory sets whether the logs opened from now on keep
// their statement journals in memory (the default) or in temporary files
// (SQLite's default: the baseline of BenchmarkStatementJournal).
func SetStatementJournalInMemory(on bool) { statementJournalInMemory = on }
