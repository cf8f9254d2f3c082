//! Space held for buffer caches (the `RESERVE` request): an mComponent holding dirty data asks
//! the sComponent to keep enough data blocks free for writing it back, so that a write-back
//! never fails for space that other writers took in the meantime.
//!
//! A reservation is the total a client wants held (absolute, so a repeated request changes
//! nothing), kept per client (the RPC peer) and incarnation, in memory only: a restarted
//! sComponent has none, and a client's next incarnation starts from none. The client's own
//! writes use its reservation and shrink it by the blocks they allocate; everyone else sees the
//! free space without every reservation.

use alloc::vec::Vec;

use crate::error::{FsError, Result};

/// Most clients holding a reservation at once (the fabric's peers).
pub const MAX_CLIENTS: usize = 64;

/// Who sent a request: the RPC peer and its incarnation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The calling component.
    pub id: u32,
    /// Its incarnation (a restarted component is a new one).
    pub incarnation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    client: Client,
    blocks: u64,
}

/// The reservations (a fixed-capacity list: at most [`MAX_CLIENTS`]).
#[derive(Debug)]
pub(crate) struct Reservations {
    held: Vec<Held>,
    total: u64,
}

impl Default for Reservations {
    fn default() -> Self {
        Reservations {
            held: Vec::with_capacity(MAX_CLIENTS),
            total: 0,
        }
    }
}

impl Reservations {
    /// Blocks held for everyone.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Blocks held for `client`.
    pub fn of(&self, client: u32) -> u64 {
        self.held
            .iter()
            .find(|h| h.client.id == client)
            .map_or(0, |h| h.blocks)
    }

    /// Blocks held for everyone but `client` (everyone, for `None`).
    pub fn others(&self, client: Option<u32>) -> u64 {
        self.total - client.map_or(0, |c| self.of(c))
    }

    /// A request from `client`: a reservation of an earlier incarnation is dropped.
    pub fn seen(&mut self, client: Client) {
        if let Some(h) = self.held.iter().find(|h| h.client.id == client.id)
            && h.client.incarnation != client.incarnation
        {
            self.forget(client.id);
        }
    }

    /// Holds `blocks` for `client` (0: none).
    pub fn set(&mut self, client: Client, blocks: u64) -> Result<()> {
        self.seen(client);
        let full = self.held.len() >= MAX_CLIENTS;
        match self.held.iter_mut().find(|h| h.client.id == client.id) {
            Some(h) => {
                self.total = self.total - h.blocks + blocks;
                h.blocks = blocks;
            }
            None if blocks == 0 => {}
            None if full => return Err(FsError::TooManyClients),
            None => {
                self.held.push(Held { client, blocks });
                self.total += blocks;
            }
        }
        self.held.retain(|h| h.blocks > 0);
        Ok(())
    }

    /// `client` allocated `blocks`: its reservation shrinks by as much (not below zero).
    pub fn consume(&mut self, client: u32, blocks: u64) {
        if let Some(h) = self.held.iter_mut().find(|h| h.client.id == client) {
            let used = blocks.min(h.blocks);
            h.blocks -= used;
            self.total -= used;
        }
        self.held.retain(|h| h.blocks > 0);
    }

    /// Drops `client`'s reservation (it failed).
    pub fn forget(&mut self, client: u32) {
        self.held.retain(|h| h.client.id != client);
        self.total = self.held.iter().map(|h| h.blocks).sum();
    }

    /// The clients holding a reservation.
    pub fn clients(&self) -> impl Iterator<Item = Client> + '_ {
        self.held.iter().map(|h| h.client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Client = Client {
        id: 1,
        incarnation: 1,
    };
    const B: Client = Client {
        id: 2,
        incarnation: 7,
    };

    #[test]
    fn absolute_per_client_and_per_incarnation() {
        let mut r = Reservations::default();
        r.set(A, 10).unwrap();
        r.set(A, 10).unwrap();
        r.set(B, 5).unwrap();
        assert_eq!(
            (r.total(), r.of(1), r.others(Some(1)), r.others(None)),
            (15, 10, 5, 15)
        );
        r.consume(1, 4);
        assert_eq!(r.of(1), 6);
        r.consume(1, 100);
        assert_eq!((r.of(1), r.total()), (0, 5));
        r.set(A, 3).unwrap();
        // A's next incarnation starts from nothing.
        r.seen(Client {
            id: 1,
            incarnation: 2,
        });
        assert_eq!((r.of(1), r.total()), (0, 5));
        r.forget(2);
        assert_eq!(r.total(), 0);
        assert_eq!(r.clients().count(), 0);
    }

    #[test]
    fn the_list_is_bounded() {
        let mut r = Reservations::default();
        for id in 0..MAX_CLIENTS as u32 {
            r.set(Client { id, incarnation: 1 }, 1).unwrap();
        }
        let one_more = Client {
            id: 999,
            incarnation: 1,
        };
        assert_eq!(r.set(one_more, 1), Err(FsError::TooManyClients));
        assert_eq!(r.set(one_more, 0), Ok(()), "holding nothing needs no room");
        assert_eq!(r.total(), MAX_CLIENTS as u64);
    }
}
