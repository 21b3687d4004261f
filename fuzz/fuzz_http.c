/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP/1.x request parser (src/api/http.c).
 *
 * Input: two control bytes, then the byte stream a client sends. Byte 0
 * seeds the generator of chunk sizes (the stream is fed in pieces of 1 to
 * 512 bytes, as reads would return it); byte 1 picks the body limit
 * (below 0x80: Firecracker's 51200, else (b & 0x7f) * 4, so small limits
 * are reached too).
 *
 * Checked on every call: consumed <= given (== given for HTTP_MORE);
 * HTTP_CONTINUE once per request, exactly when it has a body and
 * expect_continue; for a complete request, the
 * bytes it consumed are a header section and exactly body_len body bytes
 * equal to the request's body, body_len equals its Content-Length header
 * (found here by a separate, naive scan), and the path starts with '/'
 * and is visible ASCII without '?'; after HTTP_ERROR the status and
 * message are set and nothing more is accepted. Each request is also
 * answered with http_response_alloc, echoing its body. Bodies and the
 * parser are released at the end, so LeakSanitizer sees any leak.
 *
 * Seeds in fuzz/corpus/http/: requests from the unit tests and curl's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The Content-Length of the header section h[0..n) (up to and including
 * the blank line's CRLF), by a scan of its own: 0 without one. */
static uint64_t scan_content_length(const char *h, size_t n)
{
	const char *end = h + n;
	uint64_t len = 0;

	while (h < end) {
		const char *lf = memchr(h, '\n', end - h);

		if (!lf)
			abort();
		if (lf - h > 15 && !strncasecmp(h, "content-length:", 15)) {
			const char *v = h + 15;

			while (*v == ' ' || *v == '\t')
				v++;
			len = strtoull(v, NULL, 10);
		}
		h = lf + 1;
	}
	return len;
}

/* Request `r` was parsed from raw[0..n). */
static void check_request(const struct http_request *r, const char *raw, size_t n)
{
	const char *hdr_end = memmem(raw, n, "\r\n\r\n", 4);
	size_t hdr_len;
	struct http_response resp = { .status = 200, .body = r->body, .body_len = r->body_len };
	char *out;
	size_t out_len;

	if (!hdr_end)
		abort();
	hdr_len = hdr_end + 4 - raw;
	if (n - hdr_len != r->body_len || (r->body_len && !r->body) || (!r->body_len && r->body))
		abort();
	if (r->body_len && memcmp(r->body, raw + hdr_len, r->body_len))
		abort();
	if (scan_content_length(raw, hdr_len) != r->body_len)
		abort();
	if (r->path[0] != '/' || strlen(r->path) != r->path_len || strchr(r->path, '?'))
		abort();
	for (size_t i = 0; i < r->path_len; i++)
		if (r->path[i] <= ' ' || r->path[i] > '~')
			abort();
	if (r->method < HTTP_GET || r->method > HTTP_DELETE || r->minor > 1 ||
	    (r->expect_continue && !r->minor))
		abort();
	if (http_response_alloc(&resp, &out, &out_len))
		abort();
	if (out_len < r->body_len || strncmp(out, "HTTP/1.1 200 \r\n", 15) ||
	    (r->body_len && memcmp(out + out_len - r->body_len, r->body, r->body_len)))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parser p;
	struct http_request req;
	const char *in = (const char *)data + 2;
	size_t len, at = 0, start = 0; /* start: where the current request began */
	uint32_t rng;
	bool continued = false;

	if (size < 2)
		return 0;
	rng = data[0] * 0x9e3779b9u + 1;
	http_parser_init(&p, data[1] < 0x80 ? HTTP_BODY_LIMIT_DEFAULT : (data[1] & 0x7f) * 4u);
	len = size - 2;
	while (at < len) {
		size_t chunk, off = 0, used;

		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		chunk = rng & 0x100 ? 1 + rng % 512 : 1 + rng % 8;
		if (chunk > len - at)
			chunk = len - at;
		while (off < chunk) {
			enum http_event ev =
			    http_parse(&p, in + at + off, chunk - off, &used, &req);

			if (used > chunk - off || (ev == HTTP_MORE && used != chunk - off))
				abort();
			off += used;
			switch (ev) {
			case HTTP_MORE:
				break;
			case HTTP_CONTINUE:
				if (continued)
					abort();
				continued = true;
				break;
			case HTTP_REQUEST:
				check_request(&req, in + start, at + off - start);
				if (continued != (req.expect_continue && req.body_len))
					abort();
				http_request_release(&req);
				start = at + off;
				continued = false;
				break;
			case HTTP_ERROR:
				if ((p.error.status != 400 && p.error.status != 500) ||
				    !strstr(p.error.msg, "\nAll previous unanswered requests"))
					abort();
				if (http_parse(&p, in + at + off, len - at - off, &used, &req) !=
					HTTP_ERROR ||
				    used)
					abort();
				http_parser_reset(&p);
				return 0;
			}
		}
		at += chunk;
	}
	http_parser_reset(&p);
	return 0;
}
