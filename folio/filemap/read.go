// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"fmt"

	"github.com/xabench/xabench/folio"
)

// ErrStuck is returned by Read when the page cache keeps refusing a
// folio at an index where no lookup finds one: a corrupt or stale slot.
var ErrStuck = errors.New("filemap: read stuck")

// maxMisses bounds the rounds of lookup and readahead at one index.
const maxMisses = 1000

// allocFolio allocates a folio of the given order, reclaiming from the
// LRU list when memory runs out, as the allocator's slow path does.
func allocFolio(m *folio.Memmap, order uint) (folio.Folio, error) {
	for try := 0; ; try++ {
		f, err := m.Alloc(order)
		if err == nil || try == 3 {
			return f, err
		}
		if Reclaim(m, 4<<order) == 0 && try > 0 {
			return f, err
		}
	}
}

// readahead is page_cache_ra_order: cache the pages from index on with a
// large folio, as large as the alignment of index, the end of the file,
// the request and the maximum order allow; smaller on failure. The new
// folio is filled (uptodate) before it is added, as a read that completes
// at once. It returns nil if some folio covers index afterwards.
func (as *AddressSpace) readahead(index, last uint64) error {
	size := as.size.Load()
	order := uint(0)
	for order < as.maxOrder {
		next := order + 1
		span := uint64(1) << next
		if index&(span-1) != 0 || index+span > size || index+span-1 > last+span/2 {
			break
		}
		order = next
	}
	for {
		f, err := allocFolio(as.m, order)
		if err == nil {
			f.Lock()
			f.Set(folio.PGUptodate)
			as.InvalidateLock.RLock()
			_, err = as.AddFolio(f, index)
			as.InvalidateLock.RUnlock()
			f.Unlock()
			f.Put()
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrExists) && order == 0:
			return nil // someone else cached it
		case order == 0:
			return err
		}
		order = 0
	}
}

// Read makes the pages [index, index+count) cached, reading what is
// missing, and returns the folios that cover them, in order, each with a
// reference for the caller to Put (filemap_read's filemap_get_pages). The
// range is clipped to the end of the file.
func (as *AddressSpace) Read(index, count uint64, out []folio.Folio) ([]folio.Folio, error) {
	out = out[:0]
	size := as.size.Load()
	if count == 0 || index >= size {
		return out, nil
	}
	last := size - 1
	if count-1 < last-index {
		last = index + count - 1
	}
	batch := make([]folio.Folio, 0, 16)
	misses := 0
	for idx := index; idx <= last; {
		var stuck bool
		batch, stuck = as.getReadBatch(idx, last, batch)
		if stuck {
			return out, fmt.Errorf("%w: index %#x: a lookup gave up, stuck on a slot", ErrStuck, idx)
		}
		if len(batch) == 0 {
			if misses++; misses > maxMisses {
				return out, fmt.Errorf("%w: index %#x: %d lookups in a row found no folio, each add found one", ErrStuck, idx, maxMisses)
			}
			if err := as.readahead(idx, last); err != nil {
				return out, err
			}
			continue
		}
		misses = 0
		out = append(out, batch...)
		f := batch[len(batch)-1]
		next := f.Index() + f.NrPages()
		if next <= idx {
			break // a stale folio: the caller's checks will say so
		}
		idx = next
	}
	return out, nil
}
