/**
 * A streaming CSV reader for code files, written for one job: never hold more than one
 * bounded record in memory, and turn a bad record into a reject without losing the
 * ones after it. (csv-parse 7, the usual choice, either aborts the file on an
 * oversized record or, with skip_records_with_error, reports the record again for
 * every chunk that follows and drops the records after it: docs/adr/0006.)
 *
 * RFC 4180 with the leniencies real exports need: a UTF-8 BOM, CRLF, LF and lone CR
 * line endings mixed in one file, quoted fields with "" escapes and line breaks,
 * blank and whitespace-only lines (skipped, but counted in line numbers).
 */
export type CsvRecord =
  | { line: number; fields: string[] }
  | { line: number; problem: 'ROW_TOO_LONG' | 'MALFORMED_ROW'; detail: string; preview: string };

const QUOTE = 34;
const CR = 13;
const LF = 10;
const PREVIEW_CHARS = 40;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

export class CsvRecordReader {
  private readonly delimiter: number;
  private readonly maxRecordChars: number;
  private state = State.FieldStart;
  private fields: string[] = [];
  private field = '';
  private recordChars = 0;
  private line = 1;
  private recordLine = 1;
  private pendingCr = false;
  private atStart = true;
  private overflow = false;
  private malformed: string | null = null;
  private preview = '';
  private out: CsvRecord[] = [];

  constructor(options: { delimiter: string; maxRecordChars: number }) {
    this.delimiter = options.delimiter.charCodeAt(0);
    this.maxRecordChars = options.maxRecordChars;
  }

  /** Feeds decoded text; returns the records completed by it. */
  push(text: string): CsvRecord[] {
    let start = 0;
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === LF) {
          // The LF of a CRLF: the line was already counted; inside quotes it is still text.
          if (this.state === State.Quoted) this.append(text, i);
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.count(1);
          } else if (c === this.delimiter) {
            this.endField();
          } else if (c === CR || c === LF) {
            this.endLine(c);
            this.endRecord();
          } else {
            this.state = State.Unquoted;
            this.append(text, i);
          }
          break;
        case State.Unquoted:
          if (c === this.delimiter) this.endField();
          else if (c === CR || c === LF) {
            this.endLine(c);
            this.endRecord();
          } else this.append(text, i);
          break;
        case State.Quoted:
          if (c === QUOTE) this.state = State.QuoteInQuoted;
          else {
            if (c === CR || c === LF) this.endLine(c);
            this.append(text, i);
          }
          break;
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.append(text, i);
          } else if (c === this.delimiter) {
            this.endField();
          } else if (c === CR || c === LF) {
            this.endLine(c);
            this.endRecord();
          } else {
            this.malformed ??= 'text after a closing quote';
            this.state = State.Unquoted;
            this.append(text, i);
          }
          break;
      }
    }
    return this.drain();
  }

  /** Ends the input: the last record may lack a line break. */
  end(): CsvRecord[] {
    if (this.state === State.Quoted) this.malformed ??= 'a quoted field is never closed';
    if (this.recordChars > 0) this.endRecord();
    return this.drain();
  }

  private drain(): CsvRecord[] {
    const records = this.out;
    this.out = [];
    return records;
  }

  private append(text: string, i: number): void {
    this.count(1);
    if (!this.overflow) this.field += text[i];
    else if (this.preview.length < PREVIEW_CHARS) this.preview += text[i];
  }

  private count(chars: number): void {
    this.recordChars += chars;
    if (!this.overflow && this.recordChars > this.maxRecordChars) {
      this.overflow = true;
      this.preview = [...this.fields, this.field].join(String.fromCharCode(this.delimiter)).slice(0, PREVIEW_CHARS);
      this.fields = [];
      this.field = '';
    }
  }

  private endField(): void {
    this.count(1);
    if (!this.overflow) this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  private endLine(c: number): void {
    this.line += 1;
    if (c === CR) this.pendingCr = true;
  }

  private endRecord(): void {
    const line = this.recordLine;
    if (this.overflow) {
      this.out.push({ line, problem: 'ROW_TOO_LONG', detail: `the row is longer than ${this.maxRecordChars} characters`, preview: this.preview });
    } else {
      this.fields.push(this.field);
      const fields = this.fields;
      if (this.malformed) {
        this.out.push({ line, problem: 'MALFORMED_ROW', detail: this.malformed, preview: fields.join(String.fromCharCode(this.delimiter)).slice(0, PREVIEW_CHARS) });
      } else if (!(fields.length === 1 && fields[0]!.trim() === '')) {
        this.out.push({ line, fields });
      }
    }
    this.fields = [];
    this.field = '';
    this.recordChars = 0;
    this.overflow = false;
    this.malformed = null;
    this.preview = '';
    this.state = State.FieldStart;
    this.recordLine = this.line;
  }
}
