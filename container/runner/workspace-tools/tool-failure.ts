/**
 * An expected refusal or failure inside a tool (a path outside the workspace, text not found),
 * carrying a message written for the model. Anything else that escapes a tool is a surprise and
 * is reported more generically.
 */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolFailure';
  }
}
