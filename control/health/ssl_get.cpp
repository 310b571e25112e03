// SSL_GET (keepalived's check_ssl.c with check_http.c): HTTP_GET over TLS. Each url on its own
// connection: the TLS handshake (OpenSSL, without blocking: it asks for the socket's readiness
// and is called again), the server's certificate verified against keepalived's `SSL { ca }` when
// one is given, then the request and the whole response, judged as HTTP_GET judges it.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/epoll.h"
#include "control/health/probe_impl.h"

namespace fastvs {

struct Prober::Tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~Tls() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
  }
};

void Prober::TlsFree::operator()(Tls* t) const {
  delete t;
}

namespace {

constexpr size_t kMaxResponse = 1 << 20;  // as HTTP_GET's

// OpenSSL's reason for the last failure, or what errno says.
std::string tls_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return errno ? strerror(errno) : "the connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

int password_cb(char* buf, int size, int, void* userdata) {
  const auto* pw = static_cast<const std::string*>(userdata);
  if (static_cast<int>(pw->size()) >= size) return 0;
  std::memcpy(buf, pw->data(), pw->size());
  return static_cast<int>(pw->size());
}

}  // namespace

Status Prober::start_tls(Probe& p) {
  p.tls.reset(new Tls);
  Tls& t = *p.tls;
  t.ctx = SSL_CTX_new(TLS_client_method());
  if (!t.ctx) return Error{"SSL_GET: " + tls_error()};
  // An HTTP/1.0 server may close without close_notify: the end of the response, not an error.
  SSL_CTX_set_options(t.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  const CheckSpec& s = p.spec;
  if (!s.ssl_password.empty()) {
    SSL_CTX_set_default_passwd_cb_userdata(t.ctx, const_cast<std::string*>(&s.ssl_password));
    SSL_CTX_set_default_passwd_cb(t.ctx, password_cb);
  }
  if (!s.ssl_cert.empty() && SSL_CTX_use_certificate_chain_file(t.ctx, s.ssl_cert.c_str()) != 1)
    return Error{fmt::format("SSL_GET: certificate {}: {}", s.ssl_cert, tls_error())};
  if (!s.ssl_key.empty() &&
      SSL_CTX_use_PrivateKey_file(t.ctx, s.ssl_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return Error{fmt::format("SSL_GET: key {}: {}", s.ssl_key, tls_error())};
  if (!s.ssl_ca.empty() && SSL_CTX_load_verify_locations(t.ctx, s.ssl_ca.c_str(), nullptr) != 1)
    return Error{fmt::format("SSL_GET: ca {}: {}", s.ssl_ca, tls_error())};
  t.ssl = SSL_new(t.ctx);
  if (!t.ssl || SSL_set_fd(t.ssl, p.fd) != 1) return Error{"SSL_GET: " + tls_error()};
  const std::string& vhost = s.urls.at(p.url).virtualhost;
  if (s.enable_sni && !vhost.empty()) SSL_set_tlsext_host_name(t.ssl, vhost.c_str());
  p.stage = Probe::Stage::Handshake;
  return {};
}

// What OpenSSL waits for: the socket's readiness to ask epoll for; false on a failure.
bool Prober::tls_wait(Probe& p, int ret) {
  switch (SSL_get_error(p.tls->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      epoll_set(epoll_fd_, EPOLL_CTL_MOD, p.fd, EPOLLIN);
      return true;
    case SSL_ERROR_WANT_WRITE:
      epoll_set(epoll_fd_, EPOLL_CTL_MOD, p.fd, EPOLLOUT);
      return true;
    default:
      return false;
  }
}

void Prober::step_ssl(Probe& p) {
  const std::string rs = addr_port(p.ip, p.port);
  auto fail = [&](std::string why) { finish(p, CheckResult{false, std::move(why), -1}); };
  if (p.stage == Probe::Stage::Connecting) {
    if (Status st = start_tls(p); !st) return fail(st.error());
  }
  SSL* ssl = p.tls->ssl;
  if (p.stage == Probe::Stage::Handshake) {
    errno = 0;
    const int r = SSL_connect(ssl);
    if (r != 1) {
      if (tls_wait(p, r)) return;
      return fail(fmt::format("SSL_GET handshake with {}: {}", rs, tls_error()));
    }
    if (!p.spec.ssl_ca.empty()) {
      const long v = SSL_get_verify_result(ssl);
      if (v != X509_V_OK || SSL_get0_peer_certificate(ssl) == nullptr)
        return fail(fmt::format("SSL_GET {}: the server's certificate: {}", rs,
                                v != X509_V_OK ? X509_verify_cert_error_string(v) : "none"));
    }
    p.out = http_request(p);
    p.sent = 0;
    p.in.clear();
    p.stage = Probe::Stage::Sending;
  }
  if (p.stage == Probe::Stage::Sending) {
    while (p.sent < p.out.size()) {
      errno = 0;
      const int n = SSL_write(ssl, p.out.data() + p.sent, static_cast<int>(p.out.size() - p.sent));
      if (n <= 0) {
        if (tls_wait(p, n)) return;
        return fail(fmt::format("SSL_GET write to {}: {}", rs, tls_error()));
      }
      p.sent += static_cast<size_t>(n);
    }
    p.stage = Probe::Stage::Receiving;
    epoll_set(epoll_fd_, EPOLL_CTL_MOD, p.fd, EPOLLIN);
  }
  char buf[4096];
  for (;;) {
    errno = 0;
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n > 0) {
      p.in.append(buf, static_cast<size_t>(n));
      if (p.in.size() > kMaxResponse) break;
      continue;
    }
    const int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN) break;  // the end: close_notify, or the connection closed
    if (tls_wait(p, n)) return;
    return fail(fmt::format("SSL_GET read from {}: {}", rs, tls_error()));
  }
  if (std::optional<std::string> why = judge_http(p)) return fail(*why);
  if (++p.url < p.spec.urls.size()) {
    p.tls.reset();
    if (Status st = start_connect(p); !st) return fail(st.error());
    return;
  }
  finish(p, CheckResult{true, "", -1});
}

}  // namespace fastvs
