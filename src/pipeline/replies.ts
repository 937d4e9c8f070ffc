/** Fixed replies the pipeline gives when there is nothing to send to the LLM. */
export const REPLIES = {
  noSpeech: "Sorry, I didn't catch that. I only heard silence or noise. Could you say it again?",
  emptyTranscript: "Sorry, I couldn't make out any words. Could you please repeat that?",
  emptyAnswer:
    'I thought about that for too long and ran out of room before answering. Please ask again, perhaps more simply.',
  ttsFailed: "I couldn't produce a voice reply this time, so here is my answer as text.",
} as const;
