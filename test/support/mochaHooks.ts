// Loaded by .mocharc.json before every suite: shared root hooks go here.
export const mochaHooks = {};
