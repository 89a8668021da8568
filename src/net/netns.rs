//! The only unsafe code of network mode: asking the kernel who we are and opening a socket
//! from inside a named network namespace (setns(2) on a thread of its own, so the rest of the
//! process stays where it is).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The effective user id.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Connects to `addr` from inside the network namespace `name` (as `ip netns` names it, under
/// /run/netns). The socket keeps its namespace after the helper thread ends.
pub fn connect_in(name: &str, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let path = format!("/run/netns/{name}");
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = std::fs::File::open(&path)?;
            // SAFETY: `ns` is an open namespace file descriptor for the duration of the call;
            // setns changes only the calling thread's network namespace, and this thread exists
            // only to make this one connection.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            TcpStream::connect_timeout(&addr, timeout)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace helper thread panicked")))
    })
}
