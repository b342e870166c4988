import detector from '../../src/detectors/goroutine-unsynchronised.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'var block: goroutines in a loop append to a shared slice and bump a counter',
      path: 'internal/survey/collect.go',
      code: `package survey

func Collect(ctx context.Context, sites []Site) []Reading {
	var (
		readings []Reading
		failed   int
		wg       sync.WaitGroup
	)
	for _, site := range sites {
		wg.Add(1)
		go func(site Site) {
			defer wg.Done()
			rs, err := sample(ctx, site)
			if err != nil {
				failed++
				return
			}
			readings = append(readings, rs...)
		}(site)
	}
	wg.Wait()
	return readings
}
`,
      errors: [{ mode: 'async_ordering', line: 11 }],
    },
    {
      name: 'errgroup: g.Go closures in a loop append to a shared slice',
      path: 'internal/survey/gather.go',
      code: `package survey

func Gather(ctx context.Context, sites []Site) ([]Reading, error) {
	g, ctx := errgroup.WithContext(ctx)
	var all []Reading
	for _, site := range sites {
		g.Go(func() error {
			rs, err := sample(ctx, site)
			if err != nil {
				return err
			}
			all = append(all, rs...)
			return nil
		})
	}
	return all, g.Wait()
}
`,
      errors: [{ mode: 'async_ordering', line: 7 }],
    },
    {
      name: 'closure held in a local, started with go in a loop, writes a shared map',
      path: 'internal/survey/index.go',
      code: `package survey

func Index(sites []Site) map[string]int {
	byName := make(map[string]int)
	var wg sync.WaitGroup
	record := func(s Site) {
		defer wg.Done()
		byName[s.Name] = s.Elevation
	}
	for _, s := range sites {
		wg.Add(1)
		go record(s)
	}
	wg.Wait()
	return byName
}
`,
      errors: [{ mode: 'async_ordering', line: 8 }],
    },
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
      name: 'fixed twin: var block, append and counter under a mutex',
      path: 'internal/survey/collect.go',
      code: `package survey

func Collect(ctx context.Context, sites []Site) []Reading {
	var (
		readings []Reading
		failed   int
		mu       sync.Mutex
		wg       sync.WaitGroup
	)
	for _, site := range sites {
		wg.Add(1)
		go func(site Site) {
			defer wg.Done()
			rs, err := sample(ctx, site)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			readings = append(readings, rs...)
		}(site)
	}
	wg.Wait()
	return readings
}
`,
    },
    {
      name: 'fixed twin: errgroup writes one pre-sized slot per goroutine',
      path: 'internal/survey/gather.go',
      code: `package survey

func Gather(ctx context.Context, sites []Site) ([][]Reading, error) {
	g, ctx := errgroup.WithContext(ctx)
	out := make([][]Reading, len(sites))
	for i, site := range sites {
		g.Go(func() error {
			rs, err := sample(ctx, site)
			if err != nil {
				return err
			}
			out[i] = rs
			return nil
		})
	}
	return out, g.Wait()
}
`,
    },
    {
      name: 'fixed twin: closure started with go sends on a channel',
      path: 'internal/survey/index.go',
      code: `package survey

func Index(sites []Site) map[string]int {
	type kv struct {
		name string
		elev int
	}
	ch := make(chan kv, len(sites))
	record := func(s Site) {
		ch <- kv{s.Name, s.Elevation}
	}
	for _, s := range sites {
		go record(s)
	}
	byName := make(map[string]int)
	for range sites {
		r := <-ch
		byName[r.name] = r.elev
	}
	return byName
}
`,
    },
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
