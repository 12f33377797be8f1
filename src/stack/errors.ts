import { AutomatrixError } from '../errors/index.ts';

/** A stack problem a person must fix; the message is one line saying what is wrong and what to do. */
export class StackError extends AutomatrixError {
  constructor(message: string) {
    super('stack_failed', message);
  }
}
