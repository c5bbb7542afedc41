import { describe, expect, it } from 'vitest';
import { instructionsKind, isUnchangedReason, type InstructionsContext } from '../../../actors/instructions.js';
import { instructionsHash, NO_INSTRUCTIONS_HASH } from '../../../events/catalogue/instructions.js';
import { spec } from '../../support/actor-spec.js';

const T0 = '2026-01-05T09:00:00.000Z';
const TEXT = 'Answer in British English.\n';

const company = () => spec(instructionsKind, 'company');
const record = (text: string, hash = instructionsHash(text)) => ({ type: 'record', hash, text, truncated: false });
const changed = (text: string, previousHash = NO_INSTRUCTIONS_HASH) => ({
  type: 'instructions.changed',
  data: { scope: 'company', hash: instructionsHash(text), text, truncated: false, previousHash },
});

describe('instructions: recording what COMPANY.md or INSTRUCTIONS.md says', () => {
  it('starts with no instructions: the hash of the empty text', () => {
    expect(company().context).toMatchObject<Partial<InstructionsContext>>({ scope: 'company', hash: NO_INSTRUCTIONS_HASH, text: '', recordedAt: null, changes: 0 });
  });

  it('records a new text with its hash and the hash it replaces', () => {
    const after = company().when(record(TEXT)).thenRecorded([changed(TEXT)]);
    expect(after.context).toMatchObject({ hash: instructionsHash(TEXT), text: TEXT, recordedAt: T0, changes: 1 });
  });

  it('records nothing for the hash it has already, so a second run noticing the same change adds no event', () => {
    company().given(changed(TEXT)).when(record(TEXT)).thenRejected(/^unchanged: the instructions already have hash [0-9a-f]{64}$/);
    expect(isUnchangedReason(`unchanged: the instructions already have hash ${instructionsHash(TEXT)}`)).toBe(true);
  });

  it('records nothing for an empty text before any was recorded: no file is no instructions', () => {
    company().when(record('')).thenRejected(/^unchanged/);
  });

  it('records a removed file as a change to the empty text', () => {
    company()
      .given(changed(TEXT))
      .when(record(''))
      .thenRecorded([changed('', instructionsHash(TEXT))]);
  });

  it('refuses a hash that is not the sha256 of the text, so no event names a text by the wrong hash', () => {
    company().when(record(TEXT, instructionsHash('something else'))).thenRejected("the hash is not the sha256 of the text's UTF-8 bytes");
  });

  it('refuses to record for an id that is not a scope', () => {
    spec(instructionsKind, 'T1.C1').when(record(TEXT)).thenRejected(/'T1\.C1' is not an instructions scope/);
  });

  it("records a group's instructions on its own scope", () => {
    spec(instructionsKind, 'group.T1.C1')
      .when(record(TEXT))
      .thenRecorded([{ type: 'instructions.changed', data: { scope: 'group.T1.C1', hash: instructionsHash(TEXT), text: TEXT, truncated: false, previousHash: NO_INSTRUCTIONS_HASH } }]);
  });

  it('refuses a text over 32 KiB at the boundary', () => {
    expect(instructionsKind.commands.safeParse(record('é'.repeat(17_000))).success).toBe(false);
  });
});
