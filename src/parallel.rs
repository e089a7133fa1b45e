//! Work split into parts, one scoped thread per part, the results joined
//! in the parts' order: the readers that scan a file in key ranges use it.

use crate::error::{Error, Result};

/// Run `work` on each of `parts`, each on its own thread, and return the
/// results in the parts' order. One part runs on the calling thread. The
/// first error (in part order) is returned; a part that panics is reported
/// as an error naming `what` (e.g. "a customers reader"), never as a panic.
pub fn each_part<P, T, F>(parts: Vec<P>, what: &str, work: F) -> Result<Vec<T>>
where
    P: Send,
    T: Send,
    F: Fn(P) -> Result<T> + Sync,
{
    if parts.len() <= 1 {
        return parts.into_iter().map(&work).collect();
    }
    let work = &work;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|p| s.spawn(move || work(p)))
            .collect();
        // Join every thread before returning, even after an error.
        let joined: Vec<Result<T>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Other(format!("{what} panicked"))))
            })
            .collect();
        joined.into_iter().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_part_order() {
        let parts: Vec<u64> = (0..7).collect();
        let out = each_part(parts, "a test part", |k| {
            // Later parts finish first.
            std::thread::sleep(std::time::Duration::from_millis(30 - 4 * k));
            Ok(k * 10)
        })
        .expect("no part fails");
        assert_eq!(out, vec![0, 10, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn parts_may_borrow_disjoint_slices_mutably() {
        let mut v = vec![0u32; 10];
        each_part(
            v.chunks_mut(3).enumerate().collect(),
            "a test part",
            |(k, c)| {
                c.iter_mut().for_each(|x| *x = k as u32);
                Ok(())
            },
        )
        .expect("no part fails");
        assert_eq!(v, vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
    }

    #[test]
    fn a_panicking_part_is_an_error_that_names_it() {
        let err = each_part(vec![1, 2, 3], "a test reader", |k| {
            if k == 2 {
                panic!("boom");
            }
            Ok(k)
        })
        .expect_err("the panic is an error");
        assert!(err.to_string().contains("a test reader panicked"), "{err}");
    }

    #[test]
    fn the_first_error_in_part_order_is_returned() {
        let err = each_part(vec![1, 2, 3], "a test part", |k| {
            if k >= 2 {
                Err(Error::Other(format!("part {k} failed")))
            } else {
                Ok(k)
            }
        })
        .expect_err("parts 2 and 3 fail");
        assert!(err.to_string().contains("part 2 failed"), "{err}");
    }
}
