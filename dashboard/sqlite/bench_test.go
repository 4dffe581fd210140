package sqlite_test

import "testing"

// BenchmarkIngest: the replica takes events in batches of 1,000 (what the
// link's feed gathers under load), each batch one transaction with
// synchronous=FULL; two events in three are badge decisions that also fill
// the entry log. Target ≥ 20,000 events/s.
func BenchmarkIngest(b *testing.B) {
	s := open(b)
	const batch = 1000
	msgs := stream("jiyao-301", b.N*batch)
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		res, err := s.Ingest(msgs[i*batch : (i+1)*batch])
		if err != nil {
			b.Fatal(err)
		}
		n += len(res.Stored)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
