//! The plugin's allocator in wasm: a bump arena in front of the system
//! allocator (wasi-libc's dlmalloc).
//!
//! A call receives the lead as a few hundred strings and lists, each one an
//! allocation the host asks for (`cabi_realloc`), and frees them all when it
//! returns; with dlmalloc that bookkeeping was most of what a call cost. Here
//! an allocation is a pointer bump inside a fixed arena and freeing it does
//! nothing: the host gives every call a fresh instance, so the arena's memory
//! comes back with the instance. When the arena is used up (a warm instance
//! reused for many calls, or one call allocating more than the arena holds)
//! allocations fall through to the system allocator, which frees as usual:
//! nothing fails for lack of arena. Memory from either is never handed out
//! twice.

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
        // A block shrunk in place may have left bytes past its new end.
        unsafe { std::ptr::write_bytes(ptr, 0, layout.size()) };
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(ptr) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // The newest block grows (or shrinks) in place.
        let used = unsafe { &mut *self.used.get() };
        let end = ptr as usize + layout.size();
        if end == self.start() + *used {
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
        }
        new
    }
}
