// latency.go -- bench/latency.c in Go: how long the program stops for the
// collector, as the program sees it, with a large live heap.
//
// The same steps and output as latency.c (see there): L MiB of 64-byte
// nodes in 4096 chains, then S seconds of 64-byte allocations in
// iterations of 64, each iteration's duration in a 1 us histogram, and one
// line
//
//	RESULT bench=latency alloc=go live_mib=L seconds=S allocs_per_s=R
//	       max_gap_us=G p999_us=P p99_us=Q gcs=N maxrss_kib=K check=C
//
// Go's defaults apply (GOGC=100, GOMAXPROCS = the CPUs).
//
// Usage: latency-go [live MiB] [seconds]
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

const (
	chains  = 4096
	batch   = 64
	window  = 4096
	buckets = 10 * 1000 * 1000
)

type node struct {
	next    *node
	id, sum uint64
	pad     [5]uint64
}

func nodeSum(id uint64) uint64 { return id*0x9e3779b97f4a7c15 ^ 7 }

func percentile(hist []uint32, total uint64, q float64) uint64 {
	want, seen := uint64(float64(total)*q), uint64(0)
	for i, c := range hist {
		seen += uint64(c)
		if seen > want {
			return uint64(i)
		}
	}
	return buckets
}

func main() {
	liveMiB, seconds := int64(2048), 10.0
	if len(os.Args) > 1 {
		liveMiB, _ = strconv.ParseInt(os.Args[1], 10, 64)
	}
	if len(os.Args) > 2 {
		seconds, _ = strconv.ParseFloat(os.Args[2], 64)
	}
	if liveMiB < 1 || seconds <= 0 {
		fmt.Fprintf(os.Stderr, "usage: %s [live MiB] [seconds]\n", os.Args[0])
		os.Exit(2)
	}

	heads := make([]*node, chains)
	nodes := uint64(liveMiB) * 1048576 / 64
	for i := uint64(0); i < nodes; i++ {
		heads[i%chains] = &node{next: heads[i%chains], id: i, sum: nodeSum(i)}
	}
	fmt.Printf("latency: go, %d live nodes (%d MiB) in %d chains\n", nodes, liveMiB, chains)

	hist := make([]uint32, buckets)
	ring := make([]*node, window)
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	gc0 := st.NumGC
	var iters, allocs, maxNs uint64
	start := time.Now()
	last, end := start, start.Add(time.Duration(seconds*1e9))
	for {
		for k := 0; k < batch; k++ {
			ring[allocs%window] = &node{id: allocs, sum: nodeSum(allocs)}
			allocs++
		}
		t := time.Now()
		ns := uint64(t.Sub(last).Nanoseconds())
		us := ns / 1000
		if us >= buckets {
			us = buckets - 1
		}
		hist[us]++
		if ns > maxNs {
			maxNs = ns
		}
		iters++
		last = t
		if !t.Before(end) {
			break
		}
	}
	took := last.Sub(start).Seconds()
	runtime.ReadMemStats(&st)
	gcs := st.NumGC - gc0

	intact := uint64(0)
	for i := uint64(0); i < chains; i++ {
		for n := heads[i]; n != nil; n = n.next {
			if n.sum == nodeSum(n.id) && n.id%chains == i {
				intact++
			}
		}
	}
	if intact != nodes {
		fmt.Fprintf(os.Stderr, "latency: %d of %d nodes damaged\n", nodes-intact, nodes)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("RESULT bench=latency alloc=go live_mib=%d seconds=%.2f "+
		"allocs_per_s=%.0f max_gap_us=%.0f p999_us=%d p99_us=%d gcs=%d maxrss_kib=%d check=%d\n",
		liveMiB, took, float64(allocs)/took, float64(maxNs)/1e3,
		percentile(hist, iters, 0.999), percentile(hist, iters, 0.99), gcs, ru.Maxrss, intact)
	runtime.KeepAlive(ring)
	if intact != nodes {
		os.Exit(1)
	}
}
