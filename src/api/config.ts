import { readFileSync } from 'node:fs';
import { ECOSYSTEM_TOPICS } from '../../topics/index.ts';
import type { Config } from '../config/index.ts';
import { ConfigError, type EnvVar, str } from '../config/vars.ts';
import { parseGrants, type TokenGrant } from './grants.ts';

const MIN_TOKEN_LENGTH = 16;

function declareToken(): EnvVar<string | undefined> {
  const v = str('API_TOKEN', {
    description:
      'One token that may do everything: every operation marked as needing a token in the OpenAPI description (/docs), and every topic on the WebSocket and SSE feeds. At least 16 characters. For tokens limited to some topics or operations, see API_TOKENS.',
    secret: true,
  });
  return {
    ...v,
    parse(raw) {
      const value = v.parse(raw);
      if (value !== undefined && value.length < MIN_TOKEN_LENGTH)
        throw new ConfigError('API_TOKEN', `must be at least ${MIN_TOKEN_LENGTH} characters long`);
      return value;
    },
  };
}

function declareGrants(): EnvVar<TokenGrant[]> {
  const v = str('API_TOKENS', {
    description:
      'Tokens, each limited to some topics and operations: a JSON array of `{"name", "token" or "sha256", "topics", "operations"}` (format in docs/auth.md). Combines with API_TOKEN and API_TOKENS_FILE.',
    defaultText: '(unset)',
    secret: true,
  });
  return {
    ...v,
    parse(raw) {
      const text = v.parse(raw);
      if (text === undefined) return [];
      return parseGrants(text, 'API_TOKENS', MIN_TOKEN_LENGTH);
    },
  };
}

function declareGrantsFile(): EnvVar<TokenGrant[]> {
  const v = str('API_TOKENS_FILE', {
    description:
      'A file holding tokens in the API_TOKENS format (read at start). Lets the tokens live in a mounted secret instead of the environment.',
    defaultText: '(unset)',
  });
  return {
    ...v,
    parse(raw) {
      const path = v.parse(raw);
      if (path === undefined) return [];
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new ConfigError(
          'API_TOKENS_FILE',
          `cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'} ${path}`,
        );
      }
      return parseGrants(text, 'API_TOKENS_FILE', MIN_TOKEN_LENGTH);
    },
  };
}

export const API_ENV = {
  API_TOKEN: declareToken(),
  API_TOKENS: declareGrants(),
  API_TOKENS_FILE: declareGrantsFile(),
} as const;

/** Checks that span several variables, run by loadConfig. */
export const API_CHECKS = [
  (config: Config) => {
    const readable = new Set([...config.GATEWAY_TOPICS, ...ECOSYSTEM_TOPICS]);
    for (const [variable, grants] of [
      ['API_TOKENS', config.API_TOKENS],
      ['API_TOKENS_FILE', config.API_TOKENS_FILE],
    ] as const) {
      for (const g of grants) {
        if (g.topics === '*') continue;
        const unknown = g.topics.find((t) => !readable.has(t));
        if (unknown !== undefined)
          throw new ConfigError(
            variable,
            `token "${g.name}" names topic "${unknown}", which the gateway does not serve (GATEWAY_TOPICS and the ecosystem feed: ${[...readable].join(', ')})`,
          );
      }
    }
  },
  (config: Config) => {
    const names = new Set<string>();
    const digests = new Set<string>();
    const all = [...config.API_TOKENS, ...config.API_TOKENS_FILE];
    for (const g of all) {
      if (names.has(g.name)) throw new ConfigError('API_TOKENS', `token name "${g.name}" is used twice`);
      names.add(g.name);
      const d = g.digest.toString('hex');
      if (digests.has(d)) throw new ConfigError('API_TOKENS', `token "${g.name}" is the same token as another one`);
      digests.add(d);
    }
  },
];
