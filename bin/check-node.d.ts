/** The one-line complaint about running on Node.js `version`, or null when it is new enough. */
export declare function nodeVersionProblem(version: string): string | null;
