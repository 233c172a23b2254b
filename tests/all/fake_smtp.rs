//! An SMTP server on loopback, as RFC 5321 (SMTP), RFC 3207 (STARTTLS) and
//! RFC 4954 (AUTH PLAIN) describe it: it offers STARTTLS, refuses to take
//! mail or a login before the session is encrypted (530 / 538), takes one
//! login, and refuses recipients at `bounce.example` for good (550). Its
//! certificate is self-signed for 127.0.0.1; `ca_pem` is what a client must
//! trust.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// One message as the server took it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent (dot-stuffing undone).
    pub data: String,
    /// The session was encrypted when the message was sent.
    pub tls: bool,
    pub user: String,
}

pub struct FakeSmtp {
    pub port: u16,
    pub ca_pem: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl FakeSmtp {
    pub fn start(user: &str, password: &str) -> FakeSmtp {
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let ca_pem = key.cert.pem();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![key.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
            )
            .unwrap();
        let tls = Arc::new(tls);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let (m, login) = (mails.clone(), (user.to_string(), password.to_string()));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (m, tls, login) = (m.clone(), tls.clone(), login.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &tls, &login, &m);
                });
            }
        });
        FakeSmtp {
            port,
            ca_pem,
            mails,
        }
    }

    /// The messages taken, once there are `n` (or what there is after `seconds`).
    pub fn mails(&self, n: usize, seconds: u64) -> Vec<Mail> {
        crate::fake_crm::wait_for(n, seconds, || self.mails.lock().unwrap().clone())
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    fn read_line(&mut self) -> std::io::Result<String> {
        // A byte at a time: nothing read ahead is lost at the STARTTLS switch.
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            let n = match self {
                Stream::Plain(s) => s.read(&mut byte)?,
                Stream::Tls(s) => s.read(&mut byte)?,
            };
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            line.push(byte[0]);
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    fn reply(&mut self, text: &str) -> std::io::Result<()> {
        let bytes = format!("{text}\r\n");
        match self {
            Stream::Plain(s) => s.write_all(bytes.as_bytes()),
            Stream::Tls(s) => s.write_all(bytes.as_bytes()).and_then(|()| s.flush()),
        }
    }
}

fn session(
    tcp: TcpStream,
    tls: &Arc<rustls::ServerConfig>,
    login: &(String, String),
    mails: &Mutex<Vec<Mail>>,
) -> std::io::Result<()> {
    let mut s = Stream::Plain(tcp);
    s.reply("220 fake-smtp ESMTP ready")?;
    let (mut from, mut to, mut user) = (None::<String>, Vec::new(), None::<String>);
    loop {
        let line = s.read_line()?;
        let upper = line.to_ascii_uppercase();
        let encrypted = matches!(s, Stream::Tls(_));
        if upper.starts_with("EHLO") {
            if encrypted {
                s.reply("250-fake-smtp\r\n250-AUTH PLAIN\r\n250 8BITMIME")?;
            } else {
                s.reply("250-fake-smtp\r\n250-STARTTLS\r\n250 8BITMIME")?;
            }
        } else if upper == "STARTTLS" && !encrypted {
            s.reply("220 2.0.0 Ready to start TLS")?;
            let Stream::Plain(tcp) = s else {
                unreachable!()
            };
            let conn = rustls::ServerConnection::new(tls.clone()).map_err(std::io::Error::other)?;
            s = Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
            (from, to, user) = (None, Vec::new(), None);
        } else if upper.starts_with("AUTH PLAIN") {
            if !encrypted {
                s.reply("538 5.7.11 Encryption required for requested authentication mechanism")?;
                continue;
            }
            let given = line[10..].trim();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(given)
                .unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let ok = parts.len() == 3
                && parts[1] == login.0.as_bytes()
                && parts[2] == login.1.as_bytes();
            if ok {
                user = Some(login.0.clone());
                s.reply("235 2.7.0 Authentication successful")?;
            } else {
                s.reply("535 5.7.8 Authentication credentials invalid")?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            if !encrypted {
                s.reply("530 5.7.0 Must issue a STARTTLS command first")?;
            } else if user.is_none() {
                s.reply("530 5.7.0 Authentication required")?;
            } else {
                from = Some(address(&line[10..]));
                s.reply("250 2.1.0 OK")?;
            }
        } else if upper.starts_with("RCPT TO:") {
            let address = address(&line[8..]);
            if from.is_none() {
                s.reply("503 5.5.1 MAIL first")?;
            } else if address.ends_with("@bounce.example") {
                s.reply("550 5.1.1 No such user here")?;
            } else {
                to.push(address);
                s.reply("250 2.1.5 OK")?;
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                s.reply("503 5.5.1 RCPT first")?;
                continue;
            }
            s.reply("354 End data with <CR><LF>.<CR><LF>")?;
            let mut data = String::new();
            loop {
                let line = s.read_line()?;
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            mails.lock().unwrap().push(Mail {
                from: from.take().unwrap_or_default(),
                to: std::mem::take(&mut to),
                data,
                tls: encrypted,
                user: user.clone().unwrap_or_default(),
            });
            s.reply("250 2.0.0 OK queued")?;
        } else if upper == "RSET" {
            (from, to) = (None, Vec::new());
            s.reply("250 2.0.0 OK")?;
        } else if upper == "NOOP" {
            s.reply("250 2.0.0 OK")?;
        } else if upper == "QUIT" {
            return s.reply("221 2.0.0 Bye");
        } else {
            s.reply("502 5.5.2 Command not recognized")?;
        }
    }
}

/// `<ana@example.com> SIZE=123` → `ana@example.com`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = arg.find('>').map_or(arg.len(), |i| i + 1);
    arg[..end]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}
