//! ROC AUC: the chance that a random positive scores above a random negative.
//! Shared by `learn` (model choice, reports) and `backtest`.

use std::cmp::Ordering;

/// The area under the ROC curve of `scores` for the labels `positives`, ties
/// counted half (the Mann–Whitney statistic). `None` when one class is empty or
/// the two slices differ in length. NaN scores rank together, above every
/// number (the order of `f64::total_cmp`), so they never panic the sort.
pub fn roc_auc(scores: &[f64], positives: &[bool]) -> Option<f64> {
    if scores.len() != positives.len() {
        return None;
    }
    let n_pos = positives.iter().filter(|&&p| p).count();
    let n_neg = positives.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| key(scores[a]).total_cmp(&key(scores[b])));

    // Sum of the positives' ranks (1-based), ties sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && tied(scores[order[start]], scores[order[end]]) {
            end += 1;
        }
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let pos_here = order[start..end].iter().filter(|&&i| positives[i]).count();
        rank_sum += mean_rank * pos_here as f64;
        start = end;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// -0.0 sorts with 0.0, and every NaN with the others.
fn key(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

fn tied(a: f64, b: f64) -> bool {
    a.partial_cmp(&b) == Some(Ordering::Equal) || (a.is_nan() && b.is_nan())
}

#[cfg(test)]
mod tests {
    use super::roc_auc;

    #[test]
    fn perfect_reversed_and_tied() {
        assert_eq!(roc_auc(&[1.0, 2.0, 3.0], &[false, true, true]), Some(1.0));
        assert_eq!(roc_auc(&[3.0, 2.0, 1.0], &[false, true, true]), Some(0.0));
        assert_eq!(roc_auc(&[1.0, 1.0], &[false, true]), Some(0.5));
        // One tie between a positive and a negative out of 4 pairs.
        assert_eq!(
            roc_auc(&[0.0, 1.0, 1.0, 2.0], &[false, false, true, true]),
            Some(0.875)
        );
    }

    #[test]
    fn one_class_mismatch_and_nan() {
        assert_eq!(roc_auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(roc_auc(&[], &[]), None);
        assert_eq!(roc_auc(&[1.0], &[true, false]), None);
        assert_eq!(roc_auc(&[-0.0, 0.0], &[true, false]), Some(0.5));
        let auc = roc_auc(&[f64::NAN, 1.0, f64::NAN], &[true, false, false]).unwrap();
        assert_eq!(auc, 0.75);
    }
}
