//! The vNode table: identities (id, name, virtual IP) and placement (the sComponent holding a
//! vNode's files, the mComponent holding their buffer cache). It is durable state, kept in the
//! cluster's state directory, because the files it names outlive `lego down`: a cluster brought
//! up again under the same name finds its vNodes and their files. Ids are never reused, so a new
//! vNode never sees a removed one's files.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::status::VnodeStatus;

/// The table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnodeTable {
    /// The next id to hand out.
    pub next: u32,
    /// The vNodes.
    pub list: Vec<VnodeStatus>,
    /// Where the table is kept (none: in memory only).
    #[serde(skip)]
    path: Option<PathBuf>,
}

/// A vNode name is 1-32 letters, digits, `-` or `_`, and does not start with a digit (so it
/// cannot be mistaken for an id).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl VnodeTable {
    /// Loads the table kept at `path`, or an empty one if there is none.
    pub fn load(path: PathBuf) -> Result<VnodeTable, String> {
        let mut t = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<VnodeTable>(&text)
                .map_err(|e| format!("the vNode table {} is damaged: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => VnodeTable::default(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        t.next = t.next.max(1);
        t.path = Some(path);
        Ok(t)
    }

    /// Writes the table (atomically: a crash leaves the old or the new one).
    fn save(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot save the vNode table {}: {e}", path.display()))
    }

    /// Finds a vNode by name or id.
    pub fn find(&self, key: &str) -> Option<&VnodeStatus> {
        self.list
            .iter()
            .find(|v| v.name == key || v.id.to_string() == key)
    }

    /// Adds a vNode named `name` (default `vnode<ID>`) with its placement.
    pub fn create(
        &mut self,
        name: Option<String>,
        storage: String,
        cache: String,
    ) -> Result<VnodeStatus, String> {
        let id = self.next.max(1);
        let name = name.unwrap_or_else(|| format!("vnode{id}"));
        if !valid_name(&name) {
            return Err(format!(
                "vNode name `{name}`: use 1-32 letters, digits, - or _, not starting with a digit"
            ));
        }
        if self.list.iter().any(|v| v.name == name) {
            return Err(format!("a vNode named `{name}` exists"));
        }
        let v = VnodeStatus {
            id,
            ip: format!("10.66.{}.{}", id / 256, id % 256),
            mount: format!("/vnodes/{id}"),
            name,
            storage,
            cache,
        };
        self.next = id + 1;
        self.list.push(v.clone());
        if let Err(e) = self.save() {
            self.list.pop();
            self.next = id;
            return Err(e);
        }
        Ok(v)
    }

    /// Removes a vNode by name or id (its files stay on the disk, unreachable: ids are never
    /// reused).
    pub fn remove(&mut self, key: &str) -> Result<VnodeStatus, String> {
        let i = self
            .list
            .iter()
            .position(|v| v.name == key || v.id.to_string() == key)
            .ok_or_else(|| format!("no vNode `{key}`"))?;
        let v = self.list.remove(i);
        if let Err(e) = self.save() {
            self.list.insert(i, v);
            return Err(e);
        }
        Ok(v)
    }

    /// vNodes stored on or cached at component `name`.
    pub fn placed_on(&self, name: &str) -> u32 {
        self.list
            .iter()
            .filter(|v| v.storage == name || v.cache == name)
            .count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused_and_the_table_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vnodes.json");
        let mut t = VnodeTable::load(path.clone()).expect("empty");
        let a = t.create(None, "s0".into(), "m0".into()).expect("a");
        let b = t
            .create(Some("web".into()), "s0".into(), "m1".into())
            .expect("b");
        assert_eq!((a.id, a.name.as_str(), b.id), (1, "vnode1", 2));
        assert_eq!(b.ip, "10.66.0.2");
        t.remove("vnode1").expect("remove");
        let c = t.create(None, "s0".into(), "m0".into()).expect("c");
        assert_eq!(c.id, 3);
        let back = VnodeTable::load(path).expect("load");
        assert_eq!(back.list, t.list);
        assert_eq!(back.next, 4);
        assert_eq!(back.find("web").map(|v| v.id), Some(2));
        assert_eq!(back.find("3").map(|v| v.name.as_str()), Some("vnode3"));
        assert_eq!(back.placed_on("s0"), 2);
        assert_eq!(back.placed_on("m1"), 1);
    }

    #[test]
    fn bad_names_and_duplicates_are_refused() {
        let mut t = VnodeTable::default();
        for bad in ["", "9lives", "a b", "x/y", &"n".repeat(33)] {
            t.create(Some(bad.into()), "s0".into(), "m0".into())
                .expect_err(bad);
        }
        t.create(Some("a".into()), "s0".into(), "m0".into())
            .expect("a");
        let e = t
            .create(Some("a".into()), "s0".into(), "m0".into())
            .expect_err("duplicate");
        assert!(e.contains("exists"));
        t.remove("zzz").expect_err("no such vNode");
    }

    #[test]
    fn a_damaged_table_is_an_error_not_an_empty_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vnodes.json");
        std::fs::write(&path, "{ not json").expect("write");
        let e = VnodeTable::load(path).expect_err("damaged");
        assert!(e.contains("damaged"), "{e}");
    }
}
