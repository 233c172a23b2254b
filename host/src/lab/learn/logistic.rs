//! L2-regularised logistic regression on indicator features, by Newton's
//! method with a backtracking line search. Deterministic: fixed iteration
//! order, no randomness, so the same rows give the same coefficients bit for bit.
//!
//! A row is the list of its active features (1-based; 0 is the intercept, which
//! is not penalised). Features are few (tens to a few hundred), so the Hessian
//! is kept dense and solved by Cholesky.

const MAX_ITERATIONS: usize = 100;
/// Stop when no coefficient moves more than this.
const TOLERANCE: f64 = 1e-9;

/// Coefficients (index 0 the intercept) minimising the log-loss on the rows in
/// `subset` plus `lambda / 2 * |beta|^2` (intercept excluded), starting from `start`.
pub fn fit(
    rows: &[Vec<u32>],
    y: &[bool],
    subset: &[usize],
    features: usize,
    lambda: f64,
    start: Option<&[f64]>,
) -> Vec<f64> {
    let d = features + 1;
    let mut beta = match start {
        Some(s) if s.len() == d => s.to_vec(),
        _ => vec![0.0; d],
    };
    let objective = |beta: &[f64]| -> f64 {
        let loss: f64 = subset
            .iter()
            .map(|&i| {
                let z = linear(beta, &rows[i]);
                softplus(z) - if y[i] { z } else { 0.0 }
            })
            .sum();
        loss + 0.5 * lambda * beta[1..].iter().map(|b| b * b).sum::<f64>()
    };

    let mut current = objective(&beta);
    for _ in 0..MAX_ITERATIONS {
        // Gradient and Hessian (lower triangle) of the objective.
        let mut grad = vec![0.0; d];
        let mut hess = vec![0.0; d * d];
        let mut active: Vec<usize> = Vec::new();
        for &i in subset {
            let z = linear(&beta, &rows[i]);
            let p = sigmoid(z);
            let r = p - f64::from(u8::from(y[i]));
            let w = p * (1.0 - p);
            active.clear();
            active.push(0);
            active.extend(rows[i].iter().map(|&f| f as usize));
            for (a, &fa) in active.iter().enumerate() {
                grad[fa] += r;
                for &fb in &active[..=a] {
                    hess[fa * d + fb] += w;
                }
            }
        }
        for j in 1..d {
            grad[j] += lambda * beta[j];
            hess[j * d + j] += lambda;
        }
        let Some(step) = solve(&mut hess, &grad, d) else {
            break;
        };

        // Newton direction is -step; halve it until the objective drops enough.
        let slope: f64 = -grad.iter().zip(&step).map(|(g, s)| g * s).sum::<f64>();
        let mut t = 1.0;
        let mut accepted = None;
        while t > 1e-10 {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            let value = objective(&trial);
            if value.is_finite() && value <= current + 1e-4 * t * slope {
                accepted = Some((trial, value));
                break;
            }
            t *= 0.5;
        }
        let Some((trial, value)) = accepted else {
            break;
        };
        let moved = beta
            .iter()
            .zip(&trial)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        beta = trial;
        current = value;
        if moved < TOLERANCE {
            break;
        }
    }
    beta
}

/// The log-odds of a row.
pub fn linear(beta: &[f64], row: &[u32]) -> f64 {
    beta[0]
        + row
            .iter()
            .map(|&f| beta.get(f as usize).copied().unwrap_or(0.0))
            .sum::<f64>()
}

pub use crate::lab::numbers::sigmoid;

/// ln(1 + e^z) without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Solve `H x = g` for symmetric positive definite `H` given by its lower
/// triangle (overwritten by its Cholesky factor). A tiny ridge is added when
/// the matrix is numerically singular; `None` if it still fails.
fn solve(h: &mut [f64], g: &[f64], d: usize) -> Option<Vec<f64>> {
    let original = h.to_vec();
    let mut jitter = 0.0;
    for _ in 0..8 {
        h.copy_from_slice(&original);
        for j in 0..d {
            h[j * d + j] += jitter;
        }
        if cholesky(h, d) {
            // Forward then back substitution with L and L^T.
            let mut x = g.to_vec();
            for i in 0..d {
                let s: f64 = (0..i).map(|k| h[i * d + k] * x[k]).sum();
                x[i] = (x[i] - s) / h[i * d + i];
            }
            for i in (0..d).rev() {
                let s: f64 = (i + 1..d).map(|k| h[k * d + i] * x[k]).sum();
                x[i] = (x[i] - s) / h[i * d + i];
            }
            return x.iter().all(|v| v.is_finite()).then_some(x);
        }
        jitter = if jitter == 0.0 { 1e-10 } else { jitter * 100.0 };
    }
    None
}

/// In-place lower Cholesky factor; false if not positive definite.
fn cholesky(a: &mut [f64], d: usize) -> bool {
    for j in 0..d {
        let s: f64 = (0..j).map(|k| a[j * d + k] * a[j * d + k]).sum();
        let diag = a[j * d + j] - s;
        if !(diag > 0.0 && diag.is_finite()) {
            return false;
        }
        let diag = diag.sqrt();
        a[j * d + j] = diag;
        for i in j + 1..d {
            let s: f64 = (0..j).map(|k| a[i * d + k] * a[j * d + k]).sum();
            a[i * d + j] = (a[i * d + j] - s) / diag;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One binary feature: the fit recovers the log odds ratio of a 2x2 table.
    #[test]
    fn recovers_a_two_by_two_table() {
        // Feature on: 30 of 40 positive; off: 10 of 40.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..80 {
            rows.push(if i < 40 { vec![1] } else { vec![] });
            y.push(if i < 40 { i < 30 } else { i < 50 });
        }
        let all: Vec<usize> = (0..80).collect();
        let beta = fit(&rows, &y, &all, 1, 1e-9, None);
        assert!((beta[0] - (10.0f64 / 30.0).ln()).abs() < 1e-6, "{beta:?}");
        assert!(
            (beta[1] - (3.0f64.ln() - (1.0f64 / 3.0).ln())).abs() < 1e-6,
            "{beta:?}"
        );
    }

    /// Perfect separation stays finite under the penalty.
    #[test]
    fn separable_data_stays_finite() {
        let rows = vec![vec![1], vec![1], vec![], vec![]];
        let y = vec![true, true, false, false];
        let beta = fit(&rows, &y, &[0, 1, 2, 3], 1, 0.01, None);
        assert!(
            beta.iter().all(|b| b.is_finite()) && beta[1] > 3.0,
            "{beta:?}"
        );
    }
}
