//! How failed logins are limited. Pure: which counters an attempt is counted under, their
//! limits, and the slow-down of an account under attack. The store counts atomically
//! (`AdminStore::reserve_login_attempt`); `login.rs` applies the answer.
//!
//! An attacker must not be able to lock the owner out: the lock is per account AND address
//! (failures from elsewhere never lock the owner's address), per address across all names
//! (one address guessing many accounts), and per account from everywhere only slows down,
//! it never refuses.

use std::net::IpAddr;
use std::time::Duration;

use liza_store::admin::LoginLimit;

/// Failures count for this long.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Failed logins for one account from one address before that pair is refused.
pub const MAX_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
/// Failed logins from one address, whatever the names, before the address is refused.
pub const MAX_PER_ADDRESS: i64 = 20;
/// Failed logins for one account from everywhere after which its logins are slowed down.
pub const SLOW_DOWN_AFTER: i64 = 10;
/// The longest an attempt is made to wait.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// Longer names are cut for the counters' keys (no account has such a name).
const MAX_KEY_NAME_CHARS: usize = 128;

/// What each of [`LoginKeys::limits`] counts, for the log.
pub const LIMIT_NAMES: [&str; 3] = ["account and address", "address", "account"];
/// Where the account's count (from everywhere) is among the counts.
pub const ACCOUNT: usize = 2;

/// The counters one attempt is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginKeys {
    pub account_and_address: String,
    pub address: String,
    pub account: String,
}

impl LoginKeys {
    /// Keys for a login as `name` from `client` (`None`: the address is unknown).
    pub fn new(name: &str, client: Option<IpAddr>) -> Self {
        let account: String = name
            .trim()
            .to_lowercase()
            .chars()
            .take(MAX_KEY_NAME_CHARS)
            .collect();
        let address = client.map_or_else(|| "unknown".to_owned(), address_key);
        Self {
            account_and_address: format!("user-ip:{account}|{address}"),
            address: format!("ip:{address}"),
            account: format!("user:{account}"),
        }
    }

    /// The limits, in the order of [`LIMIT_NAMES`] and of the counts the store returns.
    pub fn limits(&self) -> [LoginLimit<'_>; 3] {
        [
            LoginLimit {
                key: &self.account_and_address,
                max: Some(MAX_PER_ACCOUNT_AND_ADDRESS),
            },
            LoginLimit {
                key: &self.address,
                max: Some(MAX_PER_ADDRESS),
            },
            // Counted, never refused: see `slow_down`.
            LoginLimit {
                key: &self.account,
                max: None,
            },
        ]
    }
}

/// An IPv4 address, or the /64 network of an IPv6 one: one IPv6 host usually holds a whole
/// /64 and could otherwise count each attempt under a fresh address.
fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// How long an attempt waits before its password is checked, given the account's failures
/// from everywhere in the window: nothing below [`SLOW_DOWN_AFTER`], then 1 s, doubling with
/// every ten more, at most [`MAX_DELAY`]. The owner still gets in, just more slowly.
pub fn slow_down(account_failures: i64) -> Duration {
    if account_failures < SLOW_DOWN_AFTER {
        return Duration::ZERO;
    }
    let doublings = ((account_failures - SLOW_DOWN_AFTER) / 10).min(8) as u32;
    Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_account_address_and_pair() {
        let keys = LoginKeys::new(" Admin ", Some("203.0.113.7".parse().unwrap()));
        assert_eq!(keys.account, "user:admin");
        assert_eq!(keys.address, "ip:203.0.113.7");
        assert_eq!(keys.account_and_address, "user-ip:admin|203.0.113.7");
        let limits = keys.limits();
        assert_eq!(limits[0].max, Some(MAX_PER_ACCOUNT_AND_ADDRESS));
        assert_eq!(limits[1].max, Some(MAX_PER_ADDRESS));
        assert_eq!(limits[ACCOUNT].max, None, "the account alone never refuses");
        assert_eq!(limits[ACCOUNT].key, "user:admin");
        assert_eq!(LIMIT_NAMES[ACCOUNT], "account");
        let unknown = LoginKeys::new("admin", None);
        assert_eq!(unknown.address, "ip:unknown");
    }

    #[test]
    fn ipv6_hosts_of_one_network_share_a_counter() {
        let a = LoginKeys::new("admin", Some("2001:db8:1:2::1".parse().unwrap()));
        let b = LoginKeys::new("admin", Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        let c = LoginKeys::new("admin", Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a.address, "ip:2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a.address, c.address);
        let mapped = LoginKeys::new("admin", Some("::ffff:203.0.113.7".parse().unwrap()));
        assert_eq!(mapped.address, "ip:203.0.113.7");
    }

    #[test]
    fn long_names_make_bounded_keys() {
        let keys = LoginKeys::new(&"x".repeat(60_000), None);
        assert!(keys.account.len() < 200);
    }

    #[test]
    fn the_slow_down_grows_and_is_bounded() {
        assert_eq!(slow_down(0), Duration::ZERO);
        assert_eq!(slow_down(SLOW_DOWN_AFTER - 1), Duration::ZERO);
        assert_eq!(slow_down(SLOW_DOWN_AFTER), Duration::from_secs(1));
        assert_eq!(slow_down(SLOW_DOWN_AFTER + 10), Duration::from_secs(2));
        assert_eq!(slow_down(SLOW_DOWN_AFTER + 20), Duration::from_secs(4));
        assert_eq!(slow_down(SLOW_DOWN_AFTER + 30), MAX_DELAY);
        assert_eq!(slow_down(i64::MAX), MAX_DELAY);
    }
}
