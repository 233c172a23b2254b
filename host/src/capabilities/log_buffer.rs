//! A call's log: what the `log` capability, stdout and stderr write, capped at
//! the plugin's log limit and truncated with a note rather than failing the
//! plugin's writes.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// How much of stderr is kept aside for a trap message (a panic's text).
const STDERR_TAIL: usize = 2048;

#[derive(Default)]
struct Inner {
    lines: Vec<String>,
    bytes: u64,
    truncated: bool,
    stderr_tail: Vec<u8>,
    partial: [Vec<u8>; 2],
}

/// Shared between the WASI streams and the `log` capability of one call.
#[derive(Clone)]
pub struct LogBuffer {
    inner: Arc<Mutex<Inner>>,
    limit: u64,
}

impl LogBuffer {
    pub fn new(limit: u64) -> Self {
        LogBuffer {
            inner: Arc::default(),
            limit,
        }
    }

    fn push_line(inner: &mut Inner, limit: u64, line: String) {
        if inner.truncated {
            return;
        }
        let len = line.len() as u64;
        if inner.bytes + len > limit {
            inner.truncated = true;
            return;
        }
        inner.bytes += len;
        inner.lines.push(line);
    }

    /// Empty the buffer for the next call of a kept instance.
    pub fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Inner::default();
    }

    /// A message from the `log` capability.
    pub fn log(&self, level: &str, message: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::push_line(&mut inner, self.limit, format!("{level}: {message}"));
    }

    fn write_stream(&self, stream: usize, bytes: &[u8]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if stream == 1 {
            inner.stderr_tail.extend_from_slice(bytes);
            let excess = inner.stderr_tail.len().saturating_sub(STDERR_TAIL);
            inner.stderr_tail.drain(..excess);
        }
        let name = if stream == 0 { "stdout" } else { "stderr" };
        // Only the new bytes are scanned for line ends, and the partial line
        // is never kept past the log limit: a plugin writing megabytes without
        // a newline costs the host neither memory nor rescans.
        let limit = self.limit as usize;
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let partial = &mut inner.partial[stream];
            let room = (limit + 1).saturating_sub(partial.len());
            partial.extend_from_slice(&rest[..pos.min(room)]);
            let line = std::mem::take(partial);
            let text = format!("{name}: {}", String::from_utf8_lossy(&line));
            Self::push_line(&mut inner, self.limit, text);
            rest = &rest[pos + 1..];
        }
        let partial = &mut inner.partial[stream];
        let room = (limit + 1).saturating_sub(partial.len());
        partial.extend_from_slice(&rest[..rest.len().min(room)]);
    }

    /// The log lines, whether they were truncated, and the tail of stderr.
    pub fn finish(&self) -> (Vec<String>, bool, String) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for stream in 0..2 {
            if !inner.partial[stream].is_empty() {
                let rest = std::mem::take(&mut inner.partial[stream]);
                let name = if stream == 0 { "stdout" } else { "stderr" };
                let line = format!("{name}: {}", String::from_utf8_lossy(&rest));
                Self::push_line(&mut inner, self.limit, line);
            }
        }
        let tail = String::from_utf8_lossy(&inner.stderr_tail)
            .trim()
            .to_string();
        (std::mem::take(&mut inner.lines), inner.truncated, tail)
    }

    pub fn stdout(&self) -> CapturedStream {
        CapturedStream {
            buffer: self.clone(),
            stream: 0,
        }
    }

    pub fn stderr(&self) -> CapturedStream {
        CapturedStream {
            buffer: self.clone(),
            stream: 1,
        }
    }
}

/// stdout or stderr of a plugin, into its [`LogBuffer`].
#[derive(Clone)]
pub struct CapturedStream {
    buffer: LogBuffer,
    stream: usize,
}

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.buffer.write_stream(self.stream, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CapturedStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.buffer.write_stream(self.stream, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
