import { defineCollection } from '@nocobase/database';

// One pending "Connect with Microsoft": the hashed state sent to Entra ID, who asked, and the PKCE verifier
// (encrypted). Used once, valid for a few minutes; kept in the database so any node of a cluster can finish it.
export default defineCollection({
  name: 'mailOAuthStates',
  title: 'Mail OAuth states',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'stateHash', type: 'string', allowNull: false, unique: true },
    { name: 'accountId', type: 'bigInt', allowNull: false },
    { name: 'userId', type: 'bigInt' },
    { name: 'verifier', type: 'text', hidden: true },
    { name: 'nonce', type: 'string' },
    { name: 'redirectUri', type: 'string', length: 1000 },
    { name: 'expiresAt', type: 'date', allowNull: false },
    { name: 'usedAt', type: 'date' },
  ],
});
