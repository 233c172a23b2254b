//! segmenter: not written yet.
