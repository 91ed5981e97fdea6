//! The shape rule for a list of episodes: each a `(T_i, D)` array, all with one `D`.
//!
//! Episodes arrive from front-ends as separate arrays (a Python list of numpy arrays); their shapes
//! are checked here, once, so every front-end names the offending episode the same way.

use crate::error::{shape_text, Error, Result};

/// The common action dimension `D` of episodes with these shapes, or an error naming the first
/// episode that is not 2-D or whose `D` differs from episode 0's.
pub fn episodes_dim(shapes: &[&[usize]]) -> Result<usize> {
    let mut dim = None;
    for (i, shape) in shapes.iter().enumerate() {
        let &[_, d] = *shape else {
            return Err(Error::InvalidArgument(format!(
                "episode {i} must have shape (T, D), got shape {}",
                shape_text(shape)
            )));
        };
        match dim {
            None => dim = Some(d),
            Some(first) if first != d => {
                return Err(Error::InvalidArgument(format!(
                    "episode {i} has {d} action dimensions, episode 0 has {first}"
                )))
            }
            Some(_) => {}
        }
    }
    dim.ok_or_else(|| {
        Error::InvalidArgument("episodes is empty: need at least one (T, D) episode".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_dimension_and_errors_naming_the_episode() {
        assert_eq!(episodes_dim(&[&[5, 3], &[0, 3]]).unwrap(), 3);
        let msg = |shapes: &[&[usize]]| episodes_dim(shapes).unwrap_err().to_string();
        assert_eq!(
            msg(&[&[5, 3], &[4, 3], &[2, 2]]),
            "episode 2 has 2 action dimensions, episode 0 has 3"
        );
        assert_eq!(
            msg(&[&[5, 3], &[7]]),
            "episode 1 must have shape (T, D), got shape (7,)"
        );
        assert_eq!(
            msg(&[&[2, 3, 4]]),
            "episode 0 must have shape (T, D), got shape (2, 3, 4)"
        );
        assert_eq!(
            msg(&[&[]]),
            "episode 0 must have shape (T, D), got shape ()"
        );
        assert!(msg(&[]).contains("need at least one"));
    }
}
