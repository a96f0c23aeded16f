//! The in-flight table: one [`Slot`] per op the driver knows about, keyed
//! by a [`Token`] that is also the SQE's `user_data`.
//!
//! A token carries a generation next to the slab key, so a late CQE or a
//! cancel aimed at an op that is gone can never be mistaken for a newer op
//! that reused the key.

use super::state::SlotState;
use slab::Slab;

/// `user_data` of completions the driver ignores (cancels, fire-and-forget
/// closes).
pub(crate) const IGNORE: u64 = u64::MAX;
/// `user_data` of the eventfd read that wakes a parked ring.
pub(crate) const WAKE: u64 = u64::MAX - 1;
/// `user_data` of the timeout SQE that bounds a park on kernels without
/// `IORING_FEAT_EXT_ARG`.
pub(crate) const PARK_TIMEOUT: u64 = u64::MAX - 2;

/// Identifies one op in the table; `user_data` of its SQE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token(u64);

impl Token {
    fn new(key: usize, gen: u32) -> Self {
        Token(((gen as u64) << 32) | key as u64)
    }
    pub(crate) fn from_user_data(data: u64) -> Option<Self> {
        // Reserved tokens have 0xFFFF_FFFx in the low half; keys never do.
        if (data as u32) >= u32::MAX - 15 {
            None
        } else {
            Some(Token(data))
        }
    }
    /// The SQE `user_data` for this token.
    pub(crate) fn user_data(self) -> u64 {
        self.0
    }
    fn key(self) -> usize {
        (self.0 as u32) as usize
    }
    fn gen(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

pub(crate) struct Slot {
    gen: u32,
    pub(crate) state: SlotState,
}

/// The slab of slots, with generations.
pub(crate) struct Slots {
    slab: Slab<Slot>,
    next_gen: u32,
}

impl Slots {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Slots {
            slab: Slab::with_capacity(n),
            next_gen: 0,
        }
    }

    pub(crate) fn insert(&mut self, state: SlotState) -> Token {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1);
        let key = self.slab.insert(Slot { gen, state });
        assert!(
            key < (u32::MAX - 16) as usize,
            "coring: more than 4 billion ops in flight"
        );
        Token::new(key, gen)
    }

    pub(crate) fn get_mut(&mut self, token: Token) -> Option<&mut Slot> {
        self.slab
            .get_mut(token.key())
            .filter(|s| s.gen == token.gen())
    }

    pub(crate) fn remove(&mut self, token: Token) -> Option<Slot> {
        match self.slab.get(token.key()) {
            Some(s) if s.gen == token.gen() => Some(self.slab.remove(token.key())),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Tokens of every slot, for shutdown.
    pub(crate) fn tokens(&self) -> Vec<Token> {
        self.slab
            .iter()
            .map(|(k, s)| Token::new(k, s.gen))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_token_does_not_match_reused_key() {
        let mut slots = Slots::with_capacity(4);
        let a = slots.insert(SlotState::Waiting(None));
        assert!(slots.remove(a).is_some());
        let b = slots.insert(SlotState::Waiting(None));
        assert_eq!(a.key(), b.key());
        assert!(slots.get_mut(a).is_none());
        assert!(slots.get_mut(b).is_some());
    }

    #[test]
    fn reserved_user_data_is_not_a_token() {
        assert!(Token::from_user_data(IGNORE).is_none());
        assert!(Token::from_user_data(WAKE).is_none());
        let t = Token::new(7, u32::MAX);
        assert_eq!(Token::from_user_data(t.user_data()), Some(t));
    }
}
