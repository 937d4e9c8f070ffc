/*
 * pocketsphinx-server: keeps one pocketsphinx decoder (acoustic model, language model, dictionary)
 * loaded and decodes utterances sent to it on stdin, so June pays the model-loading cost once per
 * process instead of once per request.
 *
 * Protocol (all integers little-endian):
 *   startup   -> one line on stdout: {"ready":true,"sampleRate":16000}
 *                or {"error":"..."} followed by exit status 2 when the decoder cannot be created.
 *   request   <- uint32 byte count N, then N bytes of raw 16 kHz mono signed 16-bit PCM (N even).
 *   response  -> one JSON line per request:
 *                {"hyp":"...","score":S,"posterior":P,"frames":F,"decodeMs":T,
 *                 "words":[{"w":"...","sf":start_frame,"ef":end_frame,"p":posterior},...]}
 *                Frames are 10 ms (pocketsphinx's default -frate 100).
 *   EOF on stdin -> clean exit 0.
 *
 * Command-line arguments are passed to pocketsphinx unchanged (-hmm, -lm, -dict, ...); anything not
 * given falls back to the models compiled into the Debian package (ps_default_search_args).
 * Decoder log output is silenced after a successful start unless JUNE_PS_VERBOSE is set, because it
 * writes dozens of lines per utterance.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/logmath.h>

/* Longest accepted utterance: 30 minutes of 16 kHz s16le. A larger header means the stream is out of
 * sync, and the only safe answer is to exit and let the parent restart us. */
#define MAX_UTTERANCE_BYTES (16000u * 2u * 60u * 30u)
#define CHUNK_SAMPLES 4096

static int read_full(void *buf, size_t n) {
  uint8_t *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(STDIN_FILENO, p + got, n - got);
    if (r == 0) return 0;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 1;
}

static void put_json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      putchar('\\');
      putchar(*p);
    } else if (*p < 0x20) {
      printf("\\u%04x", *p);
    } else {
      putchar(*p);
    }
  }
  putchar('"');
}

static double now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* Filler and silence tokens (<s>, </s>, <sil>, [NOISE], ...) are not words the user said. */
static int is_filler(const char *w) { return w[0] == '<' || w[0] == '['; }

static void write_result(ps_decoder_t *ps, int frames, double decode_ms) {
  logmath_t *lmath = ps_get_logmath(ps);
  int32 score = 0;
  const char *hyp = ps_get_hyp(ps, &score);
  int32 prob = ps_get_prob(ps);

  printf("{\"hyp\":");
  put_json_string(hyp ? hyp : "");
  printf(",\"score\":%d,\"posterior\":%.6g,\"frames\":%d,\"decodeMs\":%.1f,\"words\":[", (int)score,
         hyp && *hyp ? logmath_exp(lmath, prob) : 0.0, frames, decode_ms);
  int first = 1;
  for (ps_seg_t *seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
    const char *w = ps_seg_word(seg);
    if (is_filler(w)) continue;
    int sf = 0, ef = 0;
    int32 ascr = 0, lscr = 0, lback = 0;
    ps_seg_frames(seg, &sf, &ef);
    int32 post = ps_seg_prob(seg, &ascr, &lscr, &lback);
    printf("%s{\"w\":", first ? "" : ",");
    put_json_string(w);
    printf(",\"sf\":%d,\"ef\":%d,\"p\":%.6f}", sf, ef, logmath_exp(lmath, post));
    first = 0;
  }
  printf("]}\n");
  fflush(stdout);
}

/* Live cepstral mean normalisation carries its running mean from one utterance into the next, which
 * would make a result depend on whoever spoke before (and differ from a fresh process). Every
 * utterance therefore starts from the model's initial mean, captured once after loading. */
typedef struct {
  cmn_t *cmn;
  mfcc_t *initial_mean;
} cmn_state_t;

static void cmn_state_init(cmn_state_t *st, ps_decoder_t *ps) {
  feat_t *fcb = ps_get_feat(ps);
  st->cmn = fcb ? fcb->cmn_struct : NULL;
  st->initial_mean = NULL;
  if (st->cmn) {
    st->initial_mean = calloc((size_t)st->cmn->veclen, sizeof(mfcc_t));
    if (st->initial_mean) cmn_live_get(st->cmn, st->initial_mean);
  }
}

static int decode_one(ps_decoder_t *ps, cmn_state_t *st, uint32_t nbytes) {
  double t0 = now_ms();
  /* Each request is its own stream: segment times restart at 0 (they are stream-wide otherwise). */
  if (ps_start_stream(ps) < 0) return -1;
  if (st->initial_mean) cmn_live_set(st->cmn, st->initial_mean);
  if (ps_start_utt(ps) < 0) return -1;
  int16 buf[CHUNK_SAMPLES];
  uint32_t left = nbytes;
  while (left > 0) {
    uint32_t want = left < sizeof buf ? left : (uint32_t)sizeof buf;
    if (read_full(buf, want) <= 0) return -1; /* stdin closed mid-utterance: nothing to answer */
    /* Decoding while the rest of the audio is still arriving keeps latency close to one pass. */
    if (ps_process_raw(ps, buf, want / 2, FALSE, FALSE) < 0) return -1;
    left -= want;
  }
  if (ps_end_utt(ps) < 0) return -1;
  write_result(ps, (int)(nbytes / 2 / 160), now_ms() - t0);
  return 0;
}

int main(int argc, char *argv[]) {
  /* cmd_ln_parse_r refuses an empty argument list (it prints the help instead), hence the split. */
  cmd_ln_t *config = argc > 1 ? cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE)
                              : cmd_ln_init(NULL, ps_args(), TRUE, NULL);
  if (config == NULL) {
    printf("{\"error\":\"invalid pocketsphinx arguments\"}\n");
    fflush(stdout);
    return 2;
  }
  ps_default_search_args(config);
  ps_decoder_t *ps = ps_init(config);
  if (ps == NULL) {
    printf("{\"error\":\"cannot create the decoder (models missing or unreadable?)\"}\n");
    fflush(stdout);
    cmd_ln_free_r(config);
    return 2;
  }
  if (getenv("JUNE_PS_VERBOSE") == NULL) err_set_logfp(NULL);

  cmn_state_t cmn_state;
  cmn_state_init(&cmn_state, ps);

  printf("{\"ready\":true,\"sampleRate\":%d}\n", (int)cmd_ln_float32_r(config, "-samprate"));
  fflush(stdout);

  int status = 0;
  for (;;) {
    uint8_t hdr[4];
    int r = read_full(hdr, sizeof hdr);
    if (r == 0) break;
    if (r < 0) {
      status = 1;
      break;
    }
    uint32_t n = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    if (n % 2 != 0 || n > MAX_UTTERANCE_BYTES) {
      printf("{\"error\":\"bad request length %u\"}\n", n);
      fflush(stdout);
      status = 1;
      break;
    }
    if (decode_one(ps, &cmn_state, n) < 0) {
      printf("{\"error\":\"decoding failed\"}\n");
      fflush(stdout);
      status = 1;
      break;
    }
  }
  free(cmn_state.initial_mean);
  ps_free(ps);
  cmd_ln_free_r(config);
  return status;
}
