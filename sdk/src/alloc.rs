//! The plugin's allocator in wasm: a bump arena in front of the system
//! allocator (wasi-libc's dlmalloc).
//!
//! A call receives the lead as a few hundred strings and lists, each one an
//! allocation the host asks for (`cabi_realloc`), and frees them all when it
//! returns; with dlmalloc that bookkeeping was most of what a call cost. Here
//! an allocation is a pointer bump inside a fixed arena and freeing it does
//! nothing: the host gives every call a fresh instance, so the arena's memory
//! comes back with the instance.
//!
//! A warm instance (bulk scoring reuses one for many calls) rewinds instead:
//! the arena counts the blocks handed out since the first call started (what
//! the plugin's initialisation allocated stays below that *floor*, never
//! reused), and when every one of them has been freed — the call's input and
//! verdict are, once the host has read the verdict — the next block starts at
//! the floor again. A plugin that keeps a block between calls (a cache in a
//! static) just stops the rewinding. When the arena is used up (one call
//! allocating more than it holds, or no rewind) allocations fall through to
//! the system allocator, which frees as usual: nothing fails for lack of
//! arena. A block is never handed out twice while it is live.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The arena's size: several calls' worth of a large lead.
const ARENA_BYTES: usize = 2 << 20;

#[repr(C, align(16))]
struct Bytes([u8; ARENA_BYTES]);

pub struct Arena {
    memory: UnsafeCell<Bytes>,
    /// Bytes of `memory` handed out so far.
    used: UnsafeCell<usize>,
    /// One more than `used` when the first call started
    /// ([`Arena::start_call`]): where a rewind goes back to. 0 until then, so
    /// that the arena is all zeros and takes no room in the plugin's file.
    floor: UnsafeCell<usize>,
    /// Blocks at or past the floor not freed yet.
    live: UnsafeCell<usize>,
}

/// Allocations that did not fit in the arena so far (went to the system
/// allocator): a caller that sees it unchanged across some work knows all of
/// that work's blocks are in the arena, where freeing them does nothing.
static FALLBACKS: AtomicUsize = AtomicUsize::new(0);

pub fn fallbacks() -> usize {
    FALLBACKS.load(Ordering::Relaxed)
}

// wasm32 plugins are single-threaded: no two allocations run at once.
unsafe impl Sync for Arena {}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            memory: UnsafeCell::new(Bytes([0; ARENA_BYTES])),
            used: UnsafeCell::new(0),
            floor: UnsafeCell::new(0),
            live: UnsafeCell::new(0),
        }
    }

    /// A role call starts: the first one sets the floor (everything allocated
    /// so far, the initialisation's included, stays where it is).
    pub fn start_call(&self) {
        let floor = unsafe { &mut *self.floor.get() };
        if *floor == 0 {
            *floor = unsafe { *self.used.get() } + 1;
            unsafe { *self.live.get() = 0 };
        }
    }

    /// Where a rewind goes back to, once the first call has started.
    fn floor(&self) -> Option<usize> {
        unsafe { *self.floor.get() }.checked_sub(1)
    }

    /// Blocks at or past the floor not freed yet.
    pub fn live(&self) -> usize {
        unsafe { *self.live.get() }
    }

    /// `blocks` of the live ones will never be freed one by one (their owner
    /// was forgotten) but are no longer used.
    pub fn forget(&self, blocks: usize) {
        let live = unsafe { &mut *self.live.get() };
        *live = live.saturating_sub(blocks);
        if *live == 0 {
            self.rewind();
        }
    }

    /// Nothing past the floor is live: hand it out again.
    fn rewind(&self) {
        if let Some(floor) = self.floor() {
            unsafe { *self.used.get() = floor };
        }
    }

    /// Was `ptr` (a block of the arena) handed out at or past the floor?
    fn counted(&self, ptr: *mut u8) -> bool {
        self.floor()
            .is_some_and(|floor| ptr as usize >= self.start() + floor)
    }

    /// An arena block was freed.
    fn release(&self, ptr: *mut u8) {
        if self.counted(ptr) {
            self.forget(1);
        }
    }

    fn start(&self) -> usize {
        self.memory.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let at = ptr as usize;
        at >= self.start() && at < self.start() + ARENA_BYTES
    }

    /// A block from the arena, or null when it does not fit.
    unsafe fn bump(&self, layout: Layout) -> *mut u8 {
        let used = unsafe { &mut *self.used.get() };
        let start = self.start();
        let at = (start + *used).next_multiple_of(layout.align());
        match at.checked_add(layout.size()) {
            Some(end) if end <= start + ARENA_BYTES => {
                *used = end - start;
                // Counted before the floor is set too (no branch here); the
                // count starts again at 0 when it is.
                let live = unsafe { &mut *self.live.get() };
                *live = live.wrapping_add(1);
                at as *mut u8
            }
            _ => {
                FALLBACKS.fetch_add(1, Ordering::Relaxed);
                std::ptr::null_mut()
            }
        }
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { self.bump(layout) };
        if ptr.is_null() {
            unsafe { System.alloc(layout) }
        } else {
            ptr
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { self.bump(layout) };
        if ptr.is_null() {
            return unsafe { System.alloc_zeroed(layout) };
        }
        // A rewind, or a block shrunk in place, leaves old bytes behind.
        unsafe { std::ptr::write_bytes(ptr, 0, layout.size()) };
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.owns(ptr) {
            self.release(ptr);
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(ptr) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // The newest block grows (or shrinks) in place, unless it is below the
        // floor (a rewind would hand out what it grew into).
        let used = unsafe { &mut *self.used.get() };
        let end = ptr as usize + layout.size();
        let above_floor = self
            .floor()
            .is_none_or(|floor| ptr as usize >= self.start() + floor);
        if end == self.start() + *used && above_floor {
            if let Some(new_end) = (ptr as usize).checked_add(new_size) {
                if new_end <= self.start() + ARENA_BYTES {
                    *used = new_end - self.start();
                    return ptr;
                }
            }
        }
        if new_size <= layout.size() {
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
            self.release(ptr);
        }
        new
    }
}
