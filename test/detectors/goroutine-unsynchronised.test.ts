import detector from '../../src/detectors/goroutine-unsynchronised.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'goroutines in a loop write a shared map',
      path: 'internal/prices/fetch.go',
      code: `package prices

func FetchAll(ctx context.Context, skus []string) map[string]int {
	out := make(map[string]int)
	var wg sync.WaitGroup
	for _, sku := range skus {
		wg.Add(1)
		go func(sku string) {
			defer wg.Done()
			out[sku] = lookup(ctx, sku)
		}(sku)
	}
	wg.Wait()
	return out
}
`,
      errors: [{ mode: 'async_ordering', line: 8 }],
    },
    {
      name: 'goroutines in a loop add to a shared total',
      path: 'internal/stats/sum.go',
      code: `package stats

func Total(parts []Part) int {
	total := 0
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func(p Part) {
			defer wg.Done()
			total += p.Size()
		}(p)
	}
	wg.Wait()
	return total
}
`,
      errors: [{ mode: 'async_ordering', line: 8 }],
    },
  ],
  valid: [
    {
      name: 'fixed twin: map write under a mutex',
      path: 'internal/prices/fetch.go',
      code: `package prices

func FetchAll(ctx context.Context, skus []string) map[string]int {
	out := make(map[string]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, sku := range skus {
		wg.Add(1)
		go func(sku string) {
			defer wg.Done()
			v := lookup(ctx, sku)
			mu.Lock()
			out[sku] = v
			mu.Unlock()
		}(sku)
	}
	wg.Wait()
	return out
}
`,
    },
    {
      name: 'fixed twin: atomic add',
      path: 'internal/stats/sum.go',
      code: `package stats

func Total(parts []Part) int64 {
	var total int64
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func(p Part) {
			defer wg.Done()
			atomic.AddInt64(&total, int64(p.Size()))
		}(p)
	}
	wg.Wait()
	return total
}
`,
    },
    {
      name: 'fan-out into distinct slice indices, and one goroutine per variable joined by Wait',
      path: 'internal/report/build.go',
      code: `package report

func Build(ids []int64) ([]Row, Summary) {
	rows := make([]Row, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func(i int, id int64) {
			defer wg.Done()
			rows[i] = load(id)
		}(i, id)
	}
	var summary Summary
	wg.Add(1)
	go func() {
		defer wg.Done()
		summary = summarize(ids)
	}()
	wg.Wait()
	return rows, summary
}
`,
    },
  ],
});
