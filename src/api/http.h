/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x for the Firecracker-compatible REST API: a strict, incremental
 * request parser and a response formatter. Pure: no I/O, no threads, no
 * globals; the server owns the socket and feeds the bytes it reads.
 *
 * What is accepted (Firecracker's micro-http, made strict):
 *   request line  METHOD SP request-target SP HTTP/1.0|HTTP/1.1 CRLF
 *                 METHOD: GET, PUT, PATCH or DELETE, case-sensitive.
 *                 request-target: "/path[?query]" or "http://host/path...",
 *                 reduced to the path; visible ASCII only.
 *   header lines  token ":" OWS value OWS CRLF, names case-insensitive.
 *                 Content-Length (decimal, repeats must agree),
 *                 Transfer-Encoding (identity only), Expect (100-continue),
 *                 Connection (close / keep-alive) are interpreted; others
 *                 are checked for syntax and ignored.
 *   body          exactly Content-Length bytes, at most the body limit.
 * Every line, CRLF included, is at most HTTP_LINE_MAX bytes, and a request
 * has at most HTTP_HEADERS_MAX header lines (Firecracker has no such
 * limit; this one keeps a request's header section finite). Anything else
 * (bare LF, control bytes, obs-fold, a name without ':', a bad method or
 * version, an empty target, chunked bodies...) is an error: the parser
 * fills in struct http_error (400 and Firecracker's wording) and accepts
 * nothing more until reset; the server answers it and closes.
 *
 * Memory is bounded: lines are gathered in the parser's fixed buffer, and
 * the body buffer is malloc'd once Content-Length is known and within the
 * limit. Input may be split anywhere, down to one byte per call.
 *
 * A server's read loop:
 *
 *	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
 *	while ((n = read(fd, buf, sizeof(buf))) > 0)
 *		for (size_t off = 0, used; off < n; off += used)
 *			switch (http_parse(&p, buf + off, n - off, &used, &req)) {
 *			case HTTP_MORE:     break;     (used == n - off)
 *			case HTTP_CONTINUE: send HTTP_CONTINUE_RESPONSE; break;
 *			case HTTP_REQUEST:  answer req, http_request_release(&req),
 *			                    close if !req.keep_alive; break;
 *			case HTTP_ERROR:    answer p.error, close;
 *			}
 *	http_parser_reset(&p);
 *
 * Bytes after a request (pipelining) are not consumed: `used` stops at the
 * end of the request, and the next call parses the next one.
 */
#ifndef PETREL_API_HTTP_H
#define PETREL_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define HTTP_LINE_MAX 1024	      /* bytes of one line, CRLF included */
#define HTTP_HEADERS_MAX 100	      /* header lines in one request */
#define HTTP_BODY_LIMIT_DEFAULT 51200 /* Firecracker's HTTP_MAX_PAYLOAD_SIZE */
#define HTTP_ERROR_MAX 192	      /* the longest error message, NUL included */
#define HTTP_CONTENT_TYPE_MAX 100     /* bytes of a response's Content-Type */
#define HTTP_CONTINUE_RESPONSE "HTTP/1.1 100 Continue\r\n\r\n"

enum http_method {
	HTTP_GET = 1,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
};

/* One complete request. The caller owns `body`: take it (set body to NULL)
 * or free it with http_request_release. */
struct http_request {
	enum http_method method;
	unsigned int minor;	  /* HTTP/1.<minor>: 0 or 1 */
	bool keep_alive;	  /* false: close the connection after the reply */
	bool expect_continue;	  /* the client sent Expect: 100-continue (HTTP/1.1) */
	bool has_query;		  /* the target had a "?query", cut off `path` */
	uint8_t *body;		  /* body_len bytes; NULL iff body_len is 0 */
	size_t body_len;	  /* == Content-Length; 0 without one */
	size_t path_len;	  /* strlen(path), >= 1 */
	char path[HTTP_LINE_MAX]; /* starts with '/', visible ASCII, no '?' */
};

/* Why parsing failed: the status to answer (400; 500 if the body could
 * not be allocated) and a message for the server's {"error": ...} body.
 * The message is printable ASCII apart from its '\n' and ends, as
 * Firecracker's do, with "\nAll previous unanswered requests will be
 * dropped." */
struct http_error {
	int status;
	char msg[HTTP_ERROR_MAX];
};

enum http_event {
	HTTP_MORE,     /* all input consumed, no request complete yet */
	HTTP_CONTINUE, /* headers done, Expect: 100-continue and a body follows:
			  send HTTP_CONTINUE_RESPONSE, then call again */
	HTTP_REQUEST,  /* a complete request is in *out */
	HTTP_ERROR,    /* malformed input: see parser.error */
};

enum http_parser_state {
	HTTP_PS_REQUEST_LINE,
	HTTP_PS_HEADER,
	HTTP_PS_BODY,
	HTTP_PS_ERROR,
};

/* The parser of one connection. Fields other than `error` are private. */
struct http_parser {
	enum http_parser_state state;
	size_t body_limit;
	struct http_error error; /* valid after HTTP_ERROR */
	/* The request being parsed. */
	struct http_request req;
	size_t line_len, body_got;
	unsigned int nheaders;
	uint64_t content_length;
	bool cl_seen, conn_close, conn_keep_alive, expect;
	char line[HTTP_LINE_MAX];
};

/* Ready `p` for a new connection: bodies of at most `body_limit` bytes
 * (HTTP_BODY_LIMIT_DEFAULT is Firecracker's). Allocates nothing. */
void http_parser_init(struct http_parser *p, size_t body_limit);

/* Free what a partly parsed request holds and clear any error, ready for a
 * new request; the body limit is kept. Call it when the connection closes
 * (it is the parser's destructor too). */
void http_parser_reset(struct http_parser *p);

/* Parse up to `len` bytes of `buf`, stopping after at most one event.
 * *consumed is set to the bytes used (always <= len; == len for
 * HTTP_MORE); the caller keeps the rest for the next call. On
 * HTTP_REQUEST, *out is filled (and owns its body); otherwise *out is
 * untouched. After HTTP_ERROR every call returns HTTP_ERROR with
 * *consumed 0 until http_parser_reset. */
enum http_event http_parse(struct http_parser *p, const void *buf, size_t len, size_t *consumed,
			   struct http_request *out) MUST_CHECK;

/* Free r->body (if the caller did not take it) and empty it. */
void http_request_release(struct http_request *r);

/* "GET", "PUT", "PATCH", "DELETE"; "?" for anything else. */
const char *http_method_name(enum http_method m);

/* A response. `status` is 100..999; 1xx, 204 and 304 carry no body (and no
 * Content-Length), every other status gets Content-Length (0 if body_len
 * is 0) and, with a body, Content-Type. */
struct http_response {
	int status;
	bool close;		  /* Connection: close, else keep-alive */
	bool deprecation;	  /* Deprecation: true (a deprecated field was used) */
	const char *content_type; /* NULL: application/json; no CR/LF */
	const void *body;
	size_t body_len;
};

/* Format the whole response: "HTTP/1.1 <status> \r\n" (no reason phrase,
 * as Firecracker), "Server: petrel API", "Connection: ...", the body
 * headers, a blank line and the body. Into buf (cap bytes): 0 and *len,
 * -ENOSPC if it does not fit (buf then holds garbage), -EINVAL for a bad
 * status, a body on a bodiless status, or a bad content type. */
int http_response_format(const struct http_response *r, char *buf, size_t cap,
			 size_t *len) MUST_CHECK;

/* Like http_response_format, into a malloc'd *out of *len bytes (the
 * caller frees it). 0, -EINVAL or -ENOMEM. */
int http_response_alloc(const struct http_response *r, char **out, size_t *len) MUST_CHECK;

#endif
