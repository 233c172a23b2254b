//! Hostile plugin below the bindings: `score` is exported by hand with the
//! canonical ABI's core signature, so it can return bytes no generated binding
//! would. Its config's `mode` picks the fault (issue "Trust", item 6):
//! - `bad-discriminant`: the `result` discriminant is 7 (only 0 and 1 exist);
//! - `out-of-bounds-list`: an `ok` verdict whose `parts` list points past the
//!   end of linear memory;
//! - `out-of-bounds-string`: an `err` whose message points past the end.
//!
//! And the allocator the host calls to lower the input (`cabi_realloc`, through
//! Rust's global allocator) answers any request of exactly
//! [`OUT_OF_BOUNDS_SIZE`] bytes with a pointer past the end of memory: a lead
//! with a 7,777-byte value makes the host write out of bounds.

#![allow(unused)]

use std::alloc::{GlobalAlloc, Layout, System};

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    inline: "
        package hostile:raw;

        world raw {
            import leadwire:plugin/config@0.1.0;
            export leadwire:plugin/scoring@0.1.0;
        }
    ",
    world: "hostile:raw/raw",
    generate_all,
});

/// An allocation of this many bytes gets an out-of-bounds pointer.
pub const OUT_OF_BOUNDS_SIZE: usize = 7_777;

/// Far past any memory the limits allow (32 MiB by default).
const PAST_THE_END: usize = 0xFFFF_0000;

struct Hostile;

unsafe impl GlobalAlloc for Hostile {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == OUT_OF_BOUNDS_SIZE {
            return PAST_THE_END as *mut u8;
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize != PAST_THE_END {
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

#[global_allocator]
static ALLOCATOR: Hostile = Hostile;

/// The return area of `result<score-verdict, string>`: the discriminant at 0,
/// the payload at 8 (the verdict's f64 aligns it). In the verdict: `value` at
/// +0, `grade` (option<string>) at +8, `parts` (pointer, length) at +20,
/// `contributions` at +28.
#[repr(C, align(8))]
struct ReturnArea([u8; 48]);

static mut RETURN: ReturnArea = ReturnArea([0; 48]);

fn put_u32(area: &mut [u8; 48], at: usize, v: u32) {
    area[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// `score: func(input: input) -> result<score-verdict, string>`, lowered: the
/// input is passed by pointer (it flattens to more than 16 values), the result
/// returned by pointer.
// Only a wasm build exports it: native linkers refuse the name.
#[cfg_attr(
    target_arch = "wasm32",
    unsafe(export_name = "leadwire:plugin/scoring@0.1.0#score")
)]
extern "C" fn score(_input: *mut u8) -> *mut u8 {
    let config = leadwire::plugin::config::get();
    let mode = config
        .split("\"mode\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("");
    // SAFETY: one call at a time in a fresh instance.
    let area = unsafe { &mut (*std::ptr::addr_of_mut!(RETURN)).0 };
    *area = [0; 48];
    match mode {
        "bad-discriminant" => area[0] = 7,
        "out-of-bounds-list" => {
            area[0] = 0;
            area[8..16].copy_from_slice(&1.0f64.to_le_bytes());
            area[16] = 0; // grade: none
            put_u32(area, 28, PAST_THE_END as u32); // parts
            put_u32(area, 32, 1_000);
            put_u32(area, 36, 0); // contributions: empty
            put_u32(area, 40, 0);
        }
        "out-of-bounds-string" => {
            area[0] = 1;
            put_u32(area, 8, PAST_THE_END as u32);
            put_u32(area, 12, 64);
        }
        _ => {
            // A well-formed empty verdict: value 0, no grade, no parts.
            area[0] = 0;
        }
    }
    area.as_mut_ptr()
}
