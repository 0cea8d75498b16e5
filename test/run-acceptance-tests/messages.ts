import { taskMessages } from '../support/userErrors';

export const { message, assertUserError, assertRejectsWithUserError, userErrorOf } =
  taskMessages('run-acceptance-tests');
