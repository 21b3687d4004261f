/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.x request parser and response formatter (src/api/http.c):
 * requests fed whole, split at every byte boundary and byte by byte,
 * pipelined, at and one past every limit; every error class; the
 * response bytes exactly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "harness.h"

#define DROPPED "\nAll previous unanswered requests will be dropped."
#define MAX_REQS 4

/* What feeding a byte stream produced. */
struct run {
	unsigned int nreq, ncontinue;
	bool error;
	size_t end[MAX_REQS]; /* stream offset just past each request */
	size_t continue_at;   /* stream offset of the last HTTP_CONTINUE */
	size_t total;	      /* bytes consumed */
	struct http_request req[MAX_REQS];
};

static void run_free(struct run *r)
{
	for (unsigned int i = 0; i < r->nreq && i < MAX_REQS; i++)
		http_request_release(&r->req[i]);
}

/* Feed s[0..len) to p in pieces of `chunk` bytes (0: whole), each piece
 * until it is used up or the parser fails. Checks the consumed-count
 * contract on the way; returns false if it was broken. */
static bool feed(struct http_parser *p, const char *s, size_t len, size_t chunk, struct run *r)
{
	memset(r, 0, sizeof(*r));
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t at = 0; at < len && !r->error; at += chunk) {
		size_t n = len - at < chunk ? len - at : chunk, off = 0, used;

		while (off < n) {
			struct http_request req;
			enum http_event ev = http_parse(p, s + at + off, n - off, &used, &req);

			if (used > n - off || (ev == HTTP_MORE && used != n - off))
				return false;
			off += used;
			r->total += used;
			if (ev == HTTP_REQUEST) {
				if (r->nreq < MAX_REQS) {
					r->end[r->nreq] = r->total;
					r->req[r->nreq] = req;
				} else {
					http_request_release(&req);
				}
				r->nreq++;
			} else if (ev == HTTP_CONTINUE) {
				r->ncontinue++;
				r->continue_at = r->total;
			} else if (ev == HTTP_ERROR) {
				r->error = true;
				/* nothing more is accepted until reset */
				if (http_parse(p, "GET / HTTP/1.1\r\n\r\n", 18, &used, &req) !=
					HTTP_ERROR ||
				    used)
					return false;
				break;
			}
		}
	}
	return true;
}

static bool feed_str(struct http_parser *p, const char *s, size_t chunk, struct run *r)
{
	return feed(p, s, strlen(s), chunk, r);
}

static bool same_request(const struct http_request *a, const struct http_request *b)
{
	return a->method == b->method && a->minor == b->minor && a->keep_alive == b->keep_alive &&
	       a->expect_continue == b->expect_continue && a->has_query == b->has_query &&
	       a->path_len == b->path_len && !strcmp(a->path, b->path) &&
	       a->body_len == b->body_len &&
	       (!a->body_len || !memcmp(a->body, b->body, a->body_len));
}

static bool same_run(const struct run *a, const struct run *b)
{
	if (a->nreq != b->nreq || a->ncontinue != b->ncontinue || a->error != b->error ||
	    a->total != b->total || a->continue_at != b->continue_at)
		return false;
	for (unsigned int i = 0; i < a->nreq && i < MAX_REQS; i++)
		if (a->end[i] != b->end[i] || !same_request(&a->req[i], &b->req[i]))
			return false;
	return true;
}

/* Parse s[0..len) whole with the default limit: exactly one request. */
static bool parse_one_len(const char *s, size_t len, struct run *r)
{
	struct http_parser p;
	bool ok;

	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	ok = feed(&p, s, len, 0, r) && !r->error && r->nreq == 1 && r->total == len;
	http_parser_reset(&p);
	return ok;
}

static bool parse_one(const char *s, struct run *r)
{
	return parse_one_len(s, strlen(s), r);
}

/* Parse `s` with body limit `limit`: must fail with `status` and a
 * message that starts with `msg` and ends as Firecracker's do. */
static bool parse_error(const char *s, size_t len, size_t limit, int status, const char *msg)
{
	struct http_parser p;
	struct run r;
	bool ok;

	http_parser_init(&p, limit);
	ok = feed(&p, s, len, 0, &r) && r.error && r.nreq == 0 && p.error.status == status &&
	     !strncmp(p.error.msg, msg, strlen(msg)) && strlen(p.error.msg) > strlen(DROPPED) &&
	     !strcmp(p.error.msg + strlen(p.error.msg) - strlen(DROPPED), DROPPED);
	run_free(&r);
	http_parser_reset(&p);
	return ok;
}

static bool parse_error_str(const char *s, const char *msg)
{
	return parse_error(s, strlen(s), HTTP_BODY_LIMIT_DEFAULT, 400, msg);
}

static void http_get_simple(void)
{
	struct run r;

	REQUIRE(parse_one("GET /machine-config HTTP/1.1\r\nHost: localhost\r\n"
			  "Accept: */*\r\n\r\n",
			  &r));
	CHECK(r.req[0].method == HTTP_GET);
	CHECK(r.req[0].minor == 1);
	CHECK(!strcmp(r.req[0].path, "/machine-config"));
	CHECK(r.req[0].path_len == 15);
	CHECK(r.req[0].keep_alive);
	CHECK(!r.req[0].has_query && !r.req[0].expect_continue);
	CHECK(!r.req[0].body && !r.req[0].body_len);
	run_free(&r);
}

static void http_methods(void)
{
	static const char *const lines[] = { "GET / HTTP/1.1\r\n\r\n", "PUT / HTTP/1.1\r\n\r\n",
					     "PATCH / HTTP/1.1\r\n\r\n",
					     "DELETE / HTTP/1.1\r\n\r\n" };
	struct run r;

	for (unsigned int i = 0; i < 4; i++) {
		REQUIRE(parse_one(lines[i], &r));
		CHECK(r.req[0].method == (enum http_method)(HTTP_GET + i));
		CHECK(!strncmp(lines[i], http_method_name(r.req[0].method),
			       strlen(http_method_name(r.req[0].method))));
		run_free(&r);
	}
	CHECK(!strcmp(http_method_name(HTTP_DELETE), "DELETE"));
	CHECK(!strcmp(http_method_name(0), "?"));
	CHECK(!strcmp(http_method_name(99), "?"));
}

static void http_put_body(void)
{
	struct run r;

	REQUIRE(parse_one("PUT /drives/rootfs HTTP/1.1\r\ncontent-LENGTH:   12  \r\n"
			  "Content-Type: application/json\r\n\r\n{\"a\": \"b\\r\"}",
			  &r));
	CHECK(r.req[0].method == HTTP_PUT);
	REQUIRE(r.req[0].body_len == 12);
	CHECK(!memcmp(r.req[0].body, "{\"a\": \"b\\r\"}", 12));
	run_free(&r);
	/* Transfer-Encoding: identity and equal repeated lengths are fine */
	REQUIRE(parse_one("PATCH /vm HTTP/1.1\r\nTransfer-Encoding: IDENTITY\r\n"
			  "Content-Length: 2\r\nContent-Length:\t2\r\n\r\n{}",
			  &r));
	CHECK(r.req[0].body_len == 2 && !memcmp(r.req[0].body, "{}", 2));
	run_free(&r);
	/* leading zeros are still decimal; Content-Length: 0 is no body */
	REQUIRE(parse_one("PUT /x HTTP/1.1\r\nContent-Length: 0000000000000000000000000003\r\n"
			  "\r\nabc",
			  &r));
	CHECK(r.req[0].body_len == 3);
	run_free(&r);
	REQUIRE(parse_one("PUT /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r));
	CHECK(!r.req[0].body && !r.req[0].body_len);
	run_free(&r);
}

/* A body taken by the caller is not freed by release. */
static void http_body_taken(void)
{
	struct run r;
	uint8_t *body;

	REQUIRE(parse_one("PUT /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nZ", &r));
	body = r.req[0].body;
	r.req[0].body = NULL;
	run_free(&r);
	CHECK(body[0] == 'Z');
	free(body);
}

static const char pipeline[] = "GET /a HTTP/1.1\r\n\r\n"
			       "PUT /drives/d0?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
			       "PATCH http://localhost/vm HTTP/1.1\r\nExpect: 100-continue\r\n"
			       "Content-Length: 20\r\n\r\n{\"state\": \"Paused\"}\n";

static void check_pipeline(const struct run *r)
{
	CHECK(!r->error);
	REQUIRE(r->nreq == 3);
	CHECK(r->end[0] == 19);
	CHECK(r->end[1] == 19 + 55);
	CHECK(r->end[2] == sizeof(pipeline) - 1);
	CHECK(r->total == sizeof(pipeline) - 1);
	CHECK(!strcmp(r->req[0].path, "/a") && r->req[0].method == HTTP_GET);
	CHECK(!strcmp(r->req[1].path, "/drives/d0") && r->req[1].has_query);
	CHECK(r->req[1].body_len == 5 && !memcmp(r->req[1].body, "hello", 5));
	CHECK(!strcmp(r->req[2].path, "/vm") && r->req[2].method == HTTP_PATCH);
	CHECK(r->req[2].expect_continue && r->req[2].body_len == 20);
	CHECK(r->ncontinue == 1 && r->continue_at == r->end[2] - 20);
}

static void http_pipelining(void)
{
	struct http_parser p;
	struct run r;

	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	REQUIRE(feed(&p, pipeline, sizeof(pipeline) - 1, 0, &r));
	check_pipeline(&r);
	run_free(&r);
	http_parser_reset(&p);
}

/* The pipeline split in two at every offset, and in chunks of every size
 * (1 = byte by byte): the same requests, consumed at the same offsets. */
static void http_split_reads(void)
{
	const size_t len = sizeof(pipeline) - 1;
	struct http_parser p;
	struct run whole, r;

	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	REQUIRE(feed(&p, pipeline, len, 0, &whole));
	for (size_t i = 1; i < len; i++) {
		struct run a, b;

		REQUIRE(feed(&p, pipeline, i, 0, &a));
		REQUIRE(feed(&p, pipeline + i, len - i, 0, &b));
		/* merge b into a, offsets into stream terms */
		for (unsigned int k = 0; k < b.nreq && a.nreq < MAX_REQS; k++) {
			a.end[a.nreq] = b.end[k] + i;
			a.req[a.nreq++] = b.req[k];
		}
		if (b.ncontinue)
			a.continue_at = b.continue_at + i;
		a.ncontinue += b.ncontinue;
		a.total += b.total;
		CHECK(a.total == len);
		CHECK(same_run(&whole, &a));
		run_free(&a);
	}
	for (size_t chunk = 1; chunk <= len; chunk++) {
		REQUIRE(feed(&p, pipeline, len, chunk, &r));
		CHECK(same_run(&whole, &r));
		run_free(&r);
	}
	check_pipeline(&whole);
	run_free(&whole);
	http_parser_reset(&p);
}

/* A line of exactly `len` bytes, CRLF included: `prefix`, 'a's, `suffix`. */
static char *line_of(const char *prefix, size_t len, const char *suffix, const char *rest)
{
	size_t np = strlen(prefix), ns = strlen(suffix), nr = strlen(rest);
	char *s = malloc(len + nr + 1);

	memcpy(s, prefix, np);
	memset(s + np, 'a', len - np - ns - 2);
	memcpy(s + len - ns - 2, suffix, ns);
	memcpy(s + len - 2, "\r\n", 2);
	memcpy(s + len, rest, nr + 1);
	return s;
}

static void http_line_limits(void)
{
	struct http_parser p;
	struct run r;
	char *s;

	/* request line: 1024 bytes fit, 1025 do not, whole or byte by byte */
	for (size_t chunk = 0; chunk <= 1; chunk++) {
		http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
		s = line_of("GET /", HTTP_LINE_MAX, " HTTP/1.1", "\r\n");
		CHECK(feed_str(&p, s, chunk, &r) && r.nreq == 1 && !r.error);
		CHECK(r.req[0].path_len == HTTP_LINE_MAX - 15);
		run_free(&r);
		free(s);
		s = line_of("GET /", HTTP_LINE_MAX + 1, " HTTP/1.1", "\r\n");
		CHECK(feed_str(&p, s, chunk, &r) && r.error && !r.nreq);
		CHECK(!strncmp(p.error.msg, "Invalid request: line longer than 1024 bytes.", 45));
		CHECK(r.total == HTTP_LINE_MAX);
		free(s);
		http_parser_reset(&p);

		/* a header line */
		s = line_of("PUT / HTTP/1.1\r\nX-Pad: ", 16 + HTTP_LINE_MAX, "",
			    "Content-Length: 1\r\n\r\nB");
		CHECK(feed_str(&p, s, chunk, &r) && r.nreq == 1 && !r.error);
		CHECK(r.req[0].body_len == 1);
		run_free(&r);
		free(s);
		s = line_of("PUT / HTTP/1.1\r\nX-Pad: ", 16 + HTTP_LINE_MAX + 1, "", "\r\n");
		CHECK(feed_str(&p, s, chunk, &r) && r.error && !r.nreq);
		free(s);
		http_parser_reset(&p);
	}
}

static void http_header_count(void)
{
	char s[HTTP_HEADERS_MAX * 8 + 64];
	size_t n = snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
	struct http_parser p;
	struct run r;

	for (unsigned int i = 0; i < HTTP_HEADERS_MAX; i++)
		n += snprintf(s + n, sizeof(s) - n, "X-%03u:\r\n", i);
	snprintf(s + n, sizeof(s) - n, "\r\n");
	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	CHECK(feed_str(&p, s, 0, &r) && r.nreq == 1 && !r.error);
	run_free(&r);
	snprintf(s + n, sizeof(s) - n, "X-100:\r\n\r\n");
	CHECK(feed_str(&p, s, 0, &r) && r.error && !r.nreq);
	CHECK(strstr(p.error.msg, "more than 100 header lines"));
	http_parser_reset(&p);
}

static void http_body_limits(void)
{
	char s[128], msg[HTTP_ERROR_MAX];

	for (size_t limit = 0; limit <= HTTP_BODY_LIMIT_DEFAULT; limit += HTTP_BODY_LIMIT_DEFAULT) {
		struct http_parser p;
		struct run r;
		char *req;
		size_t n;

		http_parser_init(&p, limit);
		n = snprintf(s, sizeof(s), "PUT /mmds HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
			     limit);
		req = malloc(n + limit);
		memcpy(req, s, n);
		memset(req + n, 'x', limit);
		CHECK(feed(&p, req, n + limit, 0, &r) && r.nreq == 1 && !r.error);
		CHECK(r.req[0].body_len == limit);
		run_free(&r);
		free(req);
		http_parser_reset(&p);

		snprintf(s, sizeof(s), "PUT /mmds HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
			 limit + 1);
		snprintf(msg, sizeof(msg),
			 "Request payload with size %zu is larger than the limit of %zu "
			 "allowed by server.",
			 limit + 1, limit);
		CHECK(parse_error(s, strlen(s), limit, 400, msg));
	}
	/* the message, exactly */
	{
		struct http_parser p;
		struct run r;

		http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
		CHECK(feed_str(&p, "PUT /x HTTP/1.1\r\nContent-Length: 51201\r\n", 1, &r) &&
		      r.error);
		CHECK(p.error.status == 400);
		CHECK(!strcmp(p.error.msg,
			      "Request payload with size 51201 is larger than the limit "
			      "of 51200 allowed by server.\nAll previous unanswered "
			      "requests will be dropped."));
		http_parser_reset(&p);
	}
}

static void http_large_content_length(void)
{
	static const char *const bad_length = "Invalid header: invalid Content-Length.";
	struct http_parser p;
	struct run r;

	/* 2^64 - 1 is a number, too large; 2^64 and beyond are not numbers */
	CHECK(parse_error_str("PUT / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
			      "Request payload with size 18446744073709551615 is larger than the "
			      "limit of 51200 allowed by server."));
	CHECK(parse_error_str("PUT / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
			      bad_length));
	CHECK(parse_error_str("PUT / HTTP/1.1\r\nContent-Length: 36893488147419103232\r\n\r\n",
			      bad_length));
	CHECK(parse_error_str("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n"
			      "\r\n",
			      bad_length));
	/* 2^32 + 8 is not truncated to a small value */
	http_parser_init(&p, 8);
	CHECK(feed_str(&p, "PUT / HTTP/1.1\r\nContent-Length: 4294967304\r\n\r\n", 0, &r) &&
	      r.error);
	CHECK(strstr(p.error.msg, "size 4294967304 is larger than the limit of 8 "));
	http_parser_reset(&p);
}

struct bad {
	const char *name, *input, *msg;
};

static const struct bad bad[] = {
	{ "method POST", "POST / HTTP/1.1\r\n\r\n", "Invalid HTTP Method" },
	{ "method lower case", "get / HTTP/1.1\r\n\r\n", "Invalid HTTP Method" },
	{ "method GETX", "GETX / HTTP/1.1\r\n\r\n", "Invalid HTTP Method" },
	{ "method prefix", "GE / HTTP/1.1\r\n\r\n", "Invalid HTTP Method" },
	{ "method not a token", "G@T / HTTP/1.1\r\n\r\n", "Invalid HTTP Method" },
	{ "method empty", " / HTTP/1.1\r\n\r\n", "Invalid HTTP Method" },
	{ "version 2.0", "GET / HTTP/2.0\r\n\r\n", "Invalid HTTP Version" },
	{ "version 1.2", "GET / HTTP/1.2\r\n\r\n", "Invalid HTTP Version" },
	{ "version lower case", "GET / http/1.1\r\n\r\n", "Invalid HTTP Version" },
	{ "version trailing space", "GET / HTTP/1.1 \r\n\r\n", "Invalid HTTP Version" },
	{ "version missing", "GET /\r\n\r\n", "Invalid request line." },
	{ "target missing", "GET HTTP/1.1\r\n\r\n", "Invalid request line." },
	{ "target empty", "GET  HTTP/1.1\r\n\r\n", "Invalid URI" },
	{ "target double space", "GET  / HTTP/1.1\r\n\r\n", "Invalid HTTP Version" },
	{ "target relative", "GET vm HTTP/1.1\r\n\r\n", "Invalid URI" },
	{ "target asterisk", "GET * HTTP/1.1\r\n\r\n", "Invalid URI" },
	{ "absolute without path", "GET http://localhost HTTP/1.1\r\n\r\n", "Invalid URI" },
	{ "absolute query before path", "GET http://localhost?a=/b HTTP/1.1\r\n\r\n",
	  "Invalid URI" },
	{ "absolute other scheme", "GET https://localhost/x HTTP/1.1\r\n\r\n", "Invalid URI" },
	{ "target tab", "GET /a\tb HTTP/1.1\r\n\r\n", "Invalid request line." },
	{ "target high byte", "GET /\x80 HTTP/1.1\r\n\r\n", "Invalid request line." },
	{ "empty request line", "\r\nGET / HTTP/1.1\r\n\r\n", "Invalid request line." },
	{ "bare LF request line", "GET / HTTP/1.1\n\r\n", "Invalid request: line not ended" },
	{ "bare LF alone", "\n", "Invalid request: line not ended" },
	{ "bare LF header", "GET / HTTP/1.1\r\nHost: x\n\r\n", "Invalid request: line not ended" },
	{ "bare LF end of headers", "GET / HTTP/1.1\r\nHost: x\r\n\n",
	  "Invalid request: line not ended" },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "Invalid request: control" },
	{ "CR CR LF", "GET / HTTP/1.1\r\r\n\r\n", "Invalid request: control" },
	{ "control byte in value", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
	  "Invalid request: control" },
	{ "DEL in value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", "Invalid request: control" },
	{ "control byte in name", "GET / HTTP/1.1\r\nHo\x01st: a\r\n\r\n",
	  "Invalid request: control" },
	{ "obs-fold space", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", "Invalid header: obsolete" },
	{ "obs-fold tab", "GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", "Invalid header: obsolete" },
	{ "header without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", "Invalid header: bad name" },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "Invalid header: bad name" },
	{ "empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", "Invalid header: bad name" },
	{ "name not a token", "GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", "Invalid header: bad name" },
	{ "name high byte", "GET / HTTP/1.1\r\nH\xc3\xa9: x\r\n\r\n", "Invalid header: bad name" },
	{ "length negative", "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	  "Invalid header: invalid Content-Length." },
	{ "length plus", "PUT / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
	  "Invalid header: invalid Content-Length." },
	{ "length empty", "PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n",
	  "Invalid header: invalid Content-Length." },
	{ "length list", "PUT / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
	  "Invalid header: invalid Content-Length." },
	{ "length hex", "PUT / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
	  "Invalid header: invalid Content-Length." },
	{ "length inner space", "PUT / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
	  "Invalid header: invalid Content-Length." },
	{ "lengths differ", "PUT / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n",
	  "Invalid header: conflicting Content-Length values." },
	{ "chunked", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	  "Invalid header: unsupported Transfer-Encoding" },
	{ "chunked with length",
	  "PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\nabc",
	  "Invalid header: unsupported Transfer-Encoding" },
	{ "transfer-encoding empty", "PUT / HTTP/1.1\r\ntransfer-encoding:\r\n\r\n",
	  "Invalid header: unsupported Transfer-Encoding" },
};

static void http_errors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		harness_begin(bad[i].name);
		CHECK(parse_error_str(bad[i].input, bad[i].msg));
		harness_end();
	}
	harness_begin("NUL in request line");
	CHECK(parse_error("GET /\0 HTTP/1.1\r\n\r\n", 19, HTTP_BODY_LIMIT_DEFAULT, 400,
			  "Invalid request: control"));
	harness_end();
	harness_begin("NUL in header");
	CHECK(parse_error("GET / HTTP/1.1\r\nX: \0\r\n\r\n", 24, HTTP_BODY_LIMIT_DEFAULT, 400,
			  "Invalid request: control"));
	harness_end();
}

/* Every byte value in a target, a header name and a header value. */
static void http_byte_classes(void)
{
	for (unsigned int c = 0; c < 256; c++) {
		char s[64];
		struct run r;
		bool tchar = isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", (int)c));

		snprintf(s, sizeof(s), "GET /a%cb HTTP/1.1\r\n\r\n", c);
		CHECK(parse_one_len(s, 21, &r) == (c > ' ' && c < 0x7f));
		run_free(&r);
		snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX%c: v\r\n\r\n", c);
		CHECK(parse_one_len(s, 27, &r) == (tchar || c == ':'));
		run_free(&r);
		snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX: a%cb\r\n\r\n", c);
		CHECK(parse_one_len(s, 28, &r) == (c == '\t' || (c >= ' ' && c != 0x7f)));
		run_free(&r);
	}
}

/* After an error, a reset parser reads the next connection's requests. */
static void http_reset_after_error(void)
{
	struct http_parser p;
	struct run r;

	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	REQUIRE(feed_str(&p, "BREW / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, &r) && r.error);
	CHECK(r.total == 17); /* the bad line, nothing after it */
	http_parser_reset(&p);
	CHECK(p.error.status == 0 && !p.error.msg[0]);
	REQUIRE(feed_str(&p, "GET /ok HTTP/1.1\r\n\r\n", 0, &r) && r.nreq == 1 && !r.error);
	CHECK(!strcmp(r.req[0].path, "/ok"));
	run_free(&r);
	http_parser_reset(&p);
}

/* Reset in the middle of a body frees it (ASan's leak check). */
static void http_reset_mid_body(void)
{
	struct http_parser p;
	struct run r;

	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	REQUIRE(feed_str(&p, "PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc", 0, &r));
	CHECK(!r.error && !r.nreq && r.total == 43);
	http_parser_reset(&p);
	REQUIRE(feed_str(&p, "PUT /y HTTP/1.1\r\nContent-Length: 1\r\n\r\nq", 0, &r));
	CHECK(r.nreq == 1 && !strcmp(r.req[0].path, "/y"));
	run_free(&r);
	http_parser_reset(&p);
}

static void http_absolute_uri(void)
{
	static const struct {
		const char *line, *path;
		bool query;
	} rows[] = {
		{ "GET http://localhost/vm HTTP/1.1\r\n\r\n", "/vm", false },
		{ "GET http://localhost/ HTTP/1.1\r\n\r\n", "/", false },
		{ "GET http://localhost:80/a/b?x=1 HTTP/1.1\r\n\r\n", "/a/b", true },
		{ "GET http:///x HTTP/1.1\r\n\r\n", "/x", false },
		{ "GET /vm?x HTTP/1.1\r\n\r\n", "/vm", true },
		{ "GET /vm? HTTP/1.1\r\n\r\n", "/vm", true },
		{ "GET /? HTTP/1.1\r\n\r\n", "/", true },
		{ "GET /http://x HTTP/1.1\r\n\r\n", "/http://x", false },
		{ "GET /a#b HTTP/1.1\r\n\r\n", "/a#b", false },
	};
	struct run r;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		REQUIRE(parse_one(rows[i].line, &r));
		CHECK(!strcmp(r.req[0].path, rows[i].path));
		CHECK(r.req[0].path_len == strlen(rows[i].path));
		CHECK(r.req[0].has_query == rows[i].query);
		run_free(&r);
	}
}

static void http_keep_alive(void)
{
	static const struct {
		const char *req;
		bool keep;
	} rows[] = {
		{ "GET / HTTP/1.1\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: foo ,\tKeep-Alive \r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", false },
	};
	struct run r;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		REQUIRE(parse_one(rows[i].req, &r));
		CHECK(r.req[0].keep_alive == rows[i].keep);
		CHECK(r.req[0].minor == (strstr(rows[i].req, "HTTP/1.0") ? 0u : 1u));
		run_free(&r);
	}
}

static void http_expect(void)
{
	static const char req[] = "PUT /x HTTP/1.1\r\nEXPECT: 100-Continue\r\nContent-Length: 2\r\n"
				  "\r\n{}";
	struct http_parser p;
	struct http_request out;
	struct run r;
	size_t used;

	/* HTTP_CONTINUE right after the headers, then the request */
	http_parser_init(&p, HTTP_BODY_LIMIT_DEFAULT);
	REQUIRE(http_parse(&p, req, sizeof(req) - 1, &used, &out) == HTTP_CONTINUE);
	CHECK(used == sizeof(req) - 3);
	REQUIRE(http_parse(&p, req + used, 2, &used, &out) == HTTP_REQUEST);
	CHECK(used == 2 && out.expect_continue && out.body_len == 2);
	http_request_release(&out);
	/* byte by byte: once, at the same place */
	REQUIRE(feed(&p, req, sizeof(req) - 1, 1, &r));
	CHECK(r.nreq == 1 && r.ncontinue == 1 && r.continue_at == sizeof(req) - 3);
	run_free(&r);
	/* no body: nothing to ask for */
	REQUIRE(feed_str(&p, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 0, &r));
	CHECK(r.nreq == 1 && !r.ncontinue && r.req[0].expect_continue);
	run_free(&r);
	/* HTTP/1.0 and other expectations are ignored */
	REQUIRE(feed_str(
	    &p, "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 0, &r));
	CHECK(r.nreq == 1 && !r.ncontinue && !r.req[0].expect_continue);
	run_free(&r);
	REQUIRE(
	    feed_str(&p, "PUT /x HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 0, &r));
	CHECK(r.nreq == 1 && !r.ncontinue && !r.req[0].expect_continue);
	run_free(&r);
	http_parser_reset(&p);
}

static bool formats(const struct http_response *resp, const char *want)
{
	char buf[512], *heap;
	size_t len, hlen;
	bool ok;

	if (http_response_format(resp, buf, sizeof(buf), &len) ||
	    http_response_alloc(resp, &heap, &hlen))
		return false;
	ok = len == strlen(want) && !memcmp(buf, want, len) && hlen == len &&
	     !memcmp(heap, want, len);
	free(heap);
	/* exact fit works, one byte less does not */
	ok = ok && !http_response_format(resp, buf, len, &hlen) && hlen == len &&
	     http_response_format(resp, buf, len - 1, &hlen) == -ENOSPC;
	return ok;
}

static void http_response_bytes(void)
{
	struct http_response r = { .status = 204 };

	CHECK(formats(&r, "HTTP/1.1 204 \r\nServer: petrel API\r\nConnection: keep-alive\r\n\r\n"));
	r = (struct http_response){ .status = 200, .body = "{\"a\":1}", .body_len = 7 };
	CHECK(formats(&r, "HTTP/1.1 200 \r\nServer: petrel API\r\nConnection: keep-alive\r\n"
			  "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"));
	r = (struct http_response){ .status = 400, .close = true, .body = "{}", .body_len = 2 };
	CHECK(formats(&r, "HTTP/1.1 400 \r\nServer: petrel API\r\nConnection: close\r\n"
			  "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
	r = (struct http_response){ .status = 200,
				    .content_type = "text/plain; version=0.0.4",
				    .body = "m 1\n",
				    .body_len = 4 };
	CHECK(formats(&r,
		      "HTTP/1.1 200 \r\nServer: petrel API\r\nConnection: keep-alive\r\n"
		      "Content-Type: text/plain; version=0.0.4\r\nContent-Length: 4\r\n\r\nm 1\n"));
	r = (struct http_response){ .status = 200 };
	CHECK(formats(&r, "HTTP/1.1 200 \r\nServer: petrel API\r\nConnection: keep-alive\r\n"
			  "Content-Length: 0\r\n\r\n"));
	r = (struct http_response){ .status = 204, .close = true, .deprecation = true };
	CHECK(formats(&r, "HTTP/1.1 204 \r\nServer: petrel API\r\nConnection: close\r\n"
			  "Deprecation: true\r\n\r\n"));
}

static void http_response_invalid(void)
{
	char buf[512], *heap = NULL, type[HTTP_CONTENT_TYPE_MAX + 2];
	size_t len;
	struct http_response r = { .status = 204, .body = "x", .body_len = 1 };

	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -EINVAL);
	CHECK(http_response_alloc(&r, &heap, &len) == -EINVAL && !heap);
	r = (struct http_response){ .status = 99 };
	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -EINVAL);
	r.status = 1000;
	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -EINVAL);
	r = (struct http_response){
		.status = 200, .content_type = "a\r\nX: y", .body_len = 1, .body = "x"
	};
	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -EINVAL);
	memset(type, 't', sizeof(type) - 1);
	type[sizeof(type) - 1] = 0;
	r.content_type = type;
	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -EINVAL);
	type[HTTP_CONTENT_TYPE_MAX] = 0;
	CHECK(!http_response_format(&r, buf, sizeof(buf), &len));
	/* a body larger than the buffer, and a huge length, do not overflow */
	r.body_len = sizeof(buf);
	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -ENOSPC);
	r.body_len = SIZE_MAX;
	CHECK(http_response_format(&r, buf, sizeof(buf), &len) == -ENOSPC);
	CHECK(http_response_alloc(&r, &heap, &len) == -ENOMEM && !heap);
}

int main(void)
{
	RUN(http_get_simple);
	RUN(http_methods);
	RUN(http_put_body);
	RUN(http_body_taken);
	RUN(http_pipelining);
	RUN(http_split_reads);
	RUN(http_line_limits);
	RUN(http_header_count);
	RUN(http_body_limits);
	RUN(http_large_content_length);
	http_errors();
	RUN(http_byte_classes);
	RUN(http_reset_after_error);
	RUN(http_reset_mid_body);
	RUN(http_absolute_uri);
	RUN(http_keep_alive);
	RUN(http_expect);
	RUN(http_response_bytes);
	RUN(http_response_invalid);
	return harness_exit();
}
