/** XML in and out of the devstack's own S3 handlers (s3-extensions.ts), parsed as S3 parses it. */
import { parse, validate } from 'fast-xml-parser';
import S3Error from 's3rver/lib/models/error.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export const malformedXml = () =>
  new S3Error(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref]!;
  });
}

/** An XML element as fast-xml-parser gives it: text, a child map, or a list of repeated children. */
export type XmlNode = string | { [name: string]: XmlNode } | XmlNode[];

/** The document's root element `root`, values kept as text (S3 keys like "007" stay strings). */
export function parseXml(text: string, root: string): Record<string, XmlNode> {
  if (validate(text) !== true) throw malformedXml();
  const doc = parse(text, {
    ignoreAttributes: true,
    parseNodeValue: false,
    parseTrueNumberOnly: true,
    trimValues: true,
    tagValueProcessor: (value: string) => decodeXml(value),
  }) as Record<string, XmlNode>;
  const element = doc[root];
  if (element === '') return {};
  if (!isElement(element)) throw malformedXml();
  return element;
}

export const isElement = (node: XmlNode | undefined): node is Record<string, XmlNode> =>
  typeof node === 'object' && node !== null && !Array.isArray(node);

/** Repeated children as a list (one child parses as a single node). */
export const many = (node: XmlNode | undefined): XmlNode[] =>
  node === undefined ? [] : Array.isArray(node) ? node : [node];

/** A child's text; an element where text is expected is malformed. */
export function textOf(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node !== 'string') throw malformedXml();
  return node;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);
}

/** `<name>text</name>` with the text escaped; nothing for undefined. */
export const tag = (name: string, text: string | number | undefined): string =>
  text === undefined ? '' : `<${name}>${escapeXml(String(text))}</${name}>`;

export const xmlDocument = (body: string): string => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
