/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x request parser and response formatter (contract in http.h).
 *
 * Every byte comes from an API client and is hostile. The parser gathers
 * one line at a time into p->line (never more than HTTP_LINE_MAX bytes),
 * checks the whole line (CRLF ending, no control bytes) and only then
 * reads it; the body goes straight into a buffer sized from a validated
 * Content-Length. Any doubt is a 400 and the parser stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"

#define DROPPED "\nAll previous unanswered requests will be dropped."

static enum http_event fail(struct http_parser *p, int status, const char *msg)
{
	p->state = HTTP_PS_ERROR;
	p->error.status = status;
	snprintf(p->error.msg, sizeof(p->error.msg), "%s" DROPPED, msg);
	return HTTP_ERROR;
}

/* Forget the request being parsed (its body already freed or handed on). */
static void request_clear(struct http_parser *p)
{
	p->req.method = 0;
	p->req.minor = 0;
	p->req.keep_alive = p->req.expect_continue = p->req.has_query = false;
	p->req.body = NULL;
	p->req.body_len = 0;
	p->req.path_len = 0;
	p->req.path[0] = 0;
	p->line_len = p->body_got = 0;
	p->nheaders = 0;
	p->content_length = 0;
	p->cl_seen = p->conn_close = p->conn_keep_alive = p->expect = false;
	p->state = HTTP_PS_REQUEST_LINE;
}

void http_parser_init(struct http_parser *p, size_t body_limit)
{
	memset(p, 0, sizeof(*p));
	p->body_limit = body_limit;
	request_clear(p);
}

void http_parser_reset(struct http_parser *p)
{
	free(p->req.body);
	request_clear(p);
	p->error.status = 0;
	p->error.msg[0] = 0;
}

void http_request_release(struct http_request *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

const char *http_method_name(enum http_method m)
{
	static const char *const names[] = {
		[HTTP_GET] = "GET",
		[HTTP_PUT] = "PUT",
		[HTTP_PATCH] = "PATCH",
		[HTTP_DELETE] = "DELETE",
	};

	return (unsigned int)m < ARRAY_SIZE(names) && names[m] ? names[m] : "?";
}

/* Byte classes: a table, as every byte of every line is looked up. */
enum {
	C_TCHAR = 1, /* RFC 9110 tchar: a header name's bytes */
	C_CTL = 2,   /* control bytes: allowed in no line (HT aside) */
	C_TARGET = 4 /* request line: visible ASCII and SP */
};
#define TT (C_TCHAR | C_TARGET)
static const unsigned char byte_class[256] = {
	[0 ... 8] = C_CTL,
	[10 ... 31] = C_CTL,
	[' '] = C_TARGET,
	['!'] = TT,
	['"'] = C_TARGET,
	['#' ... '\''] = TT,
	['(' ... ')'] = C_TARGET,
	['*' ... '+'] = TT,
	[','] = C_TARGET,
	['-' ... '.'] = TT,
	['/'] = C_TARGET,
	['0' ... '9'] = TT,
	[':' ... '@'] = C_TARGET,
	['A' ... 'Z'] = TT,
	['[' ... ']'] = C_TARGET,
	['^' ... 'z'] = TT,
	['{'] = C_TARGET,
	['|'] = TT,
	['}'] = C_TARGET,
	['~'] = TT,
	[127] = C_CTL,
};
#undef TT

static bool is_class(char c, unsigned char cls)
{
	return byte_class[(unsigned char)c] & cls;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool token_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(s, word, n);
}

/* "METHOD SP target SP HTTP/1.x"; s[0..n) is visible ASCII and spaces. */
static enum http_event request_line(struct http_parser *p, const char *s, size_t n)
{
	const char *end = s + n, *sp, *t, *v;
	size_t tlen;
	enum http_method m;

	for (size_t i = 0; i < n; i++)
		if (!is_class(s[i], C_TARGET))
			return fail(p, 400, "Invalid request line.");
	sp = memchr(s, ' ', n);
	if (!sp)
		return fail(p, 400, "Invalid request line.");
	/* Case-sensitive, as Firecracker's. */
	for (m = HTTP_GET; m <= HTTP_DELETE; m++)
		if (strlen(http_method_name(m)) == (size_t)(sp - s) &&
		    !memcmp(s, http_method_name(m), sp - s))
			break;
	if (m > HTTP_DELETE)
		return fail(p, 400, "Invalid HTTP Method: Unsupported HTTP method.");
	t = sp + 1;
	sp = memchr(t, ' ', end - t);
	if (!sp)
		return fail(p, 400, "Invalid request line.");
	v = sp + 1;
	if (end - v != 8 || memcmp(v, "HTTP/1.", 7) || (v[7] != '0' && v[7] != '1'))
		return fail(p, 400, "Invalid HTTP Version: Unsupported HTTP version.");
	tlen = sp - t;
	/* An absolute URI: the authority ends at the first '/', '?' or '#';
	 * only a '/' leaves a path. */
	if (tlen >= 7 && !memcmp(t, "http://", 7)) {
		size_t a = 7;

		while (a < tlen && t[a] != '/' && t[a] != '?' && t[a] != '#')
			a++;
		t += a;
		tlen -= a;
	}
	if (!tlen || t[0] != '/')
		return fail(p, 400, "Invalid URI: Empty URI not allowed.");
	sp = memchr(t, '?', tlen);
	if (sp) {
		p->req.has_query = true;
		tlen = sp - t;
	}
	memcpy(p->req.path, t, tlen);
	p->req.path[tlen] = 0;
	p->req.path_len = tlen;
	p->req.method = m;
	p->req.minor = v[7] - '0';
	p->state = HTTP_PS_HEADER;
	return HTTP_MORE;
}

static enum http_event content_length(struct http_parser *p, const char *v, size_t n)
{
	uint64_t x = 0;

	if (!n)
		return fail(p, 400, "Invalid header: invalid Content-Length.");
	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned char)v[i] - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return fail(p, 400, "Invalid header: invalid Content-Length.");
		x = x * 10 + d;
	}
	if (p->cl_seen && x != p->content_length)
		return fail(p, 400, "Invalid header: conflicting Content-Length values.");
	if (x > p->body_limit) {
		fail(p, 400, "");
		snprintf(p->error.msg, sizeof(p->error.msg),
			 "Request payload with size %llu is larger than the limit of %zu allowed "
			 "by server." DROPPED,
			 (unsigned long long)x, p->body_limit);
		return HTTP_ERROR;
	}
	p->cl_seen = true;
	p->content_length = x;
	return HTTP_MORE;
}

/* Connection: a comma-separated list of options. */
static void connection(struct http_parser *p, const char *v, size_t n)
{
	const char *end = v + n;

	while (v < end) {
		const char *comma = memchr(v, ',', end - v), *e = comma ? comma : end, *s = v;

		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (token_is(s, e - s, "close"))
			p->conn_close = true;
		else if (token_is(s, e - s, "keep-alive"))
			p->conn_keep_alive = true;
		v = comma ? comma + 1 : end;
	}
}

static enum http_event finish(struct http_parser *p, struct http_request *out)
{
	*out = p->req;
	p->req.body = NULL; /* now the caller's */
	request_clear(p);
	return HTTP_REQUEST;
}

/* The blank line: the request is complete, or its body follows. */
static enum http_event headers_done(struct http_parser *p, struct http_request *out)
{
	struct http_request *r = &p->req;

	/* HTTP/1.1 keeps the connection unless told to close; 1.0 closes
	 * unless told to keep it. */
	r->keep_alive = r->minor ? !p->conn_close : p->conn_keep_alive && !p->conn_close;
	/* RFC 9110 10.1.1: a 1.0 client's Expect is ignored. */
	r->expect_continue = p->expect && r->minor;
	if (!p->content_length)
		return finish(p, out);
	r->body = malloc(p->content_length);
	if (!r->body)
		return fail(p, 500, "Out of memory for the request body.");
	r->body_len = p->content_length;
	p->state = HTTP_PS_BODY;
	/* micro-http asks for the body only when there is one. */
	return r->expect_continue ? HTTP_CONTINUE : HTTP_MORE;
}

/* "name: value"; s[0..n) has no control bytes but HT. */
static enum http_event header_line(struct http_parser *p, const char *s, size_t n,
				   struct http_request *out)
{
	size_t name = 0;
	const char *v, *end = s + n;

	if (!n)
		return headers_done(p, out);
	if (++p->nheaders > HTTP_HEADERS_MAX)
		return fail(p, 400, "Invalid request: more than 100 header lines.");
	if (is_ows(s[0]))
		return fail(p, 400, "Invalid header: obsolete line folding.");
	while (name < n && is_class(s[name], C_TCHAR))
		name++;
	if (!name || name == n || s[name] != ':')
		return fail(p, 400, "Invalid header: bad name or missing ':'.");
	for (v = s + name + 1; v < end && is_ows(*v);)
		v++;
	while (end > v && is_ows(end[-1]))
		end--;
	if (token_is(s, name, "content-length"))
		return content_length(p, v, end - v);
	if (token_is(s, name, "transfer-encoding") && !token_is(v, end - v, "identity"))
		return fail(p, 400,
			    "Invalid header: unsupported Transfer-Encoding "
			    "(bodies need a Content-Length).");
	if (token_is(s, name, "expect") && token_is(v, end - v, "100-continue"))
		p->expect = true;
	if (token_is(s, name, "connection"))
		connection(p, v, end - v);
	return HTTP_MORE;
}

/* p->line holds a whole line, LF included. */
static enum http_event line_done(struct http_parser *p, struct http_request *out)
{
	size_t n = p->line_len - 2;

	if (p->line_len < 2 || p->line[n] != '\r')
		return fail(p, 400, "Invalid request: line not ended by CRLF.");
	p->line_len = 0;
	for (size_t i = 0; i < n; i++)
		if (is_class(p->line[i], C_CTL))
			return fail(p, 400, "Invalid request: control character in a line.");
	if (p->state == HTTP_PS_REQUEST_LINE)
		return request_line(p, p->line, n);
	return header_line(p, p->line, n, out);
}

enum http_event http_parse(struct http_parser *p, const void *buf, size_t len, size_t *consumed,
			   struct http_request *out)
{
	const char *in = buf;
	size_t off = 0;
	enum http_event ev = HTTP_MORE;

	*consumed = 0;
	if (p->state == HTTP_PS_ERROR)
		return HTTP_ERROR;
	while (off < len && ev == HTTP_MORE) {
		size_t n = len - off;

		if (p->state == HTTP_PS_BODY) {
			size_t want = p->req.body_len - p->body_got;

			n = n < want ? n : want;
			memcpy(p->req.body + p->body_got, in + off, n);
			p->body_got += n;
			off += n;
			if (p->body_got == p->req.body_len)
				ev = finish(p, out);
			continue;
		}
		/* A line: copy up to its LF, at most what the buffer holds. */
		const char *lf;
		size_t room = HTTP_LINE_MAX - p->line_len;

		n = n < room ? n : room;
		lf = memchr(in + off, '\n', n);
		if (lf)
			n = lf - (in + off) + 1;
		memcpy(p->line + p->line_len, in + off, n);
		p->line_len += n;
		off += n;
		if (lf)
			ev = line_done(p, out);
		else if (p->line_len == HTTP_LINE_MAX)
			ev = fail(p, 400, "Invalid request: line longer than 1024 bytes.");
	}
	*consumed = off;
	return ev;
}

/* Everything before the body, into head (HTTP_HEAD_MAX bytes). */
#define HTTP_HEAD_MAX 256
static int response_head(const struct http_response *r, char *head)
{
	bool bodiless = r->status < 200 || r->status == 204 || r->status == 304;
	const char *type = r->content_type ? r->content_type : "application/json";
	char length[48] = "";
	int n;

	if (r->status < 100 || r->status > 999 || (bodiless && r->body_len) ||
	    strnlen(type, HTTP_CONTENT_TYPE_MAX + 1) > HTTP_CONTENT_TYPE_MAX ||
	    strpbrk(type, "\r\n"))
		return -EINVAL;
	if (!bodiless)
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n", r->body_len);
	n = snprintf(head, HTTP_HEAD_MAX,
		     "HTTP/1.1 %d \r\nServer: petrel API\r\nConnection: %s\r\n%s%s%s%s%s\r\n",
		     r->status, r->close ? "close" : "keep-alive",
		     r->deprecation ? "Deprecation: true\r\n" : "",
		     r->body_len ? "Content-Type: " : "", r->body_len ? type : "",
		     r->body_len ? "\r\n" : "", length);
	/* cannot happen: the parts are bounded above */
	return n > 0 && n < HTTP_HEAD_MAX ? n : -EINVAL;
}

int http_response_format(const struct http_response *r, char *buf, size_t cap, size_t *len)
{
	char head[HTTP_HEAD_MAX];
	int n = response_head(r, head);

	if (n < 0)
		return n;
	if (r->body_len > cap || (size_t)n > cap - r->body_len)
		return -ENOSPC;
	memcpy(buf, head, n);
	if (r->body_len)
		memcpy(buf + n, r->body, r->body_len);
	*len = n + r->body_len;
	return 0;
}

int http_response_alloc(const struct http_response *r, char **out, size_t *len)
{
	char head[HTTP_HEAD_MAX], *buf;
	int n = response_head(r, head);

	if (n < 0)
		return n;
	if (r->body_len > SIZE_MAX - n)
		return -ENOMEM;
	buf = malloc(n + r->body_len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, n);
	if (r->body_len)
		memcpy(buf + n, r->body, r->body_len);
	*out = buf;
	*len = n + r->body_len;
	return 0;
}
