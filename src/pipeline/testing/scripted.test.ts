/**
 * The scripted engines are honest implementations: each passes the shared behaviour suite of its
 * interface (without the checks of what was recognised or said, which a script cannot meet).
 */
import { describeLanguageModelBehaviour } from '../../providers/llm/llm.behaviour.js';
import { describeSpeechToTextBehaviour } from '../../providers/stt/stt.behaviour.js';
import { describeTextToSpeechBehaviour } from '../../providers/tts/tts.behaviour.js';
import { ScriptedLanguageModel } from './scripted-llm.js';
import { ScriptedSpeechToText } from './scripted-stt.js';
import { ScriptedTextToSpeech } from './scripted-tts.js';

describeSpeechToTextBehaviour(
  'scripted',
  async () => ({ stt: new ScriptedSpeechToText({ msPerAudioSecond: 50 }) }),
  { checksContent: false },
);

describeLanguageModelBehaviour('scripted', async () => ({ model: new ScriptedLanguageModel() }));

describeTextToSpeechBehaviour(
  'scripted',
  async () => ({ tts: new ScriptedTextToSpeech({ msPerAudioSecond: 20 }) }),
  {
    checksIntelligibility: false,
  },
);
