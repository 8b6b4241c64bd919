import React, { useMemo } from 'react';
import { Alert, Button, Col, Form, Input, InputNumber, Row, Select, Switch, Typography, theme } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMailTranslation } from '../locale';
import { FormSection } from './FormSection';
import { OpenFilterInput } from './OpenFilterInput';
import * as rules from './formRules';
import {
  CollectionInfo,
  FieldInfo,
  isScalarField,
  isTextField,
  plainTitle,
  useCollectionInfos,
  useFieldInfos,
} from './linkingApi';
import {
  CreateByForwardValue,
  DEFAULT_SUBJECT_FORMAT,
  FORWARD_SOURCES,
  ForwardSource,
  LinkCollectionValue,
  plusAddressExample,
  subjectExample,
} from './linkingValues';

type T = (key: string, options?: Record<string, unknown>) => string;

const LINKING = ['settings', 'linking'];

function collectionOptions(collections: CollectionInfo[], t: T, extra?: string) {
  const options = collections.map((c) => ({
    value: c.name,
    label: `${plainTitle(c.title, t) || c.name} (${c.name})`,
  }));
  if (extra && !collections.some((c) => c.name === extra)) options.push({ value: extra, label: extra });
  return options;
}

function fieldLabel(f: FieldInfo, t: T) {
  const title = plainTitle(f.title, t);
  return title && title !== f.name ? `${title} (${f.name})` : f.name;
}

function fieldOptions(
  fields: FieldInfo[],
  t: T,
  keep: (f: FieldInfo) => boolean,
  current?: string[],
  emailFirst = false,
) {
  const sorted = emailFirst
    ? [...fields].sort((a, b) => Number(b.interface === 'email') - Number(a.interface === 'email'))
    : fields;
  const options = sorted.filter(keep).map((f) => ({ value: f.name, label: fieldLabel(f, t) }));
  for (const name of current ?? [])
    if (name && !options.some((o) => o.value === name)) options.push({ value: name, label: name });
  return options;
}

interface PickerProps<V> {
  id?: string;
  value?: V;
  onChange?: (value: V) => void;
}

/** One collection mail can be filed on: which records, how their token reads, which fields hold addresses. */
function CollectionRule({ index, onRemove }: { index: number; onRemove(): void }) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const form = Form.useFormInstance();
  const { collections, loading } = useCollectionInfos();
  const rule: LinkCollectionValue | undefined = Form.useWatch([...LINKING, 'collections', index], form);
  const { fields, loading: fieldsLoading } = useFieldInfos(rule?.name);
  const others: LinkCollectionValue[] = Form.useWatch([...LINKING, 'collections'], form) ?? [];
  const taken = new Set(others.filter((_, i) => i !== index).map((c) => c?.name));
  const pk = fields.find((f) => f.primaryKey);
  return (
    <div
      data-testid={`linking-collection-${index}`}
      style={{
        border: `1px solid ${token.colorBorderSecondary}`,
        borderRadius: token.borderRadiusLG,
        padding: '12px 16px 0',
        marginBottom: 12,
        background: token.colorFillQuaternary,
      }}
    >
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name={[index, 'name']} label={t('Collection')} rules={[rules.requiredChoice(t, t('Collection'))]}>
            <Select
              showSearch
              loading={loading}
              optionFilterProp="label"
              placeholder={t('Pick a collection')}
              options={collectionOptions(collections, t, rule?.name).filter((o) => !taken.has(o.value))}
              onChange={() => {
                form.setFieldValue([...LINKING, 'collections', index, 'tokenField'], undefined);
                form.setFieldValue([...LINKING, 'collections', index, 'emailFields'], []);
                form.setFieldValue([...LINKING, 'collections', index, 'openFilter'], undefined);
              }}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <div style={{ display: 'flex', gap: 8, alignItems: 'flex-start' }}>
            <Form.Item
              name={[index, 'shortName']}
              label={t('Token prefix')}
              tooltip={t(
                'Stands for the collection in tokens: agent+<prefix>-17@… and, with several collections, [#<prefix>-17].',
              )}
              rules={[{ pattern: /^[A-Za-z0-9][A-Za-z0-9_]*$/, message: t('Letters, digits and _ only.') }]}
              style={{ flex: 1 }}
            >
              <Input placeholder={rule?.name || t('the collection name')} maxLength={30} />
            </Form.Item>
            <Button
              type="text"
              danger
              icon={<DeleteOutlined />}
              onClick={onRemove}
              aria-label={t('Remove collection')}
              title={t('Remove collection')}
              style={{ marginTop: 30 }}
              data-testid={`linking-collection-remove-${index}`}
            />
          </div>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name={[index, 'tokenField']}
            label={t('Token field')}
            tooltip={t('The field whose value identifies the record in addresses and subjects.')}
          >
            <Select
              allowClear
              disabled={!rule?.name}
              loading={fieldsLoading}
              showSearch
              optionFilterProp="label"
              placeholder={pk ? `${fieldLabel(pk, t)} — ${t('primary key')}` : t('Primary key')}
              options={fieldOptions(fields, t, isScalarField, rule?.tokenField ? [rule.tokenField] : [])}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name={[index, 'emailFields']}
            label={t('E-mail fields')}
            tooltip={t(
              'Mail from or to an address in these fields is filed on the record. Type a path such as contact.email for a field of a related record.',
            )}
          >
            <Select
              mode="tags"
              disabled={!rule?.name}
              loading={fieldsLoading}
              optionFilterProp="label"
              placeholder={t('None: only tokens link mail')}
              options={fieldOptions(fields, t, isTextField, rule?.emailFields, true)}
            />
          </Form.Item>
        </Col>
        <Col span={24}>
          <Form.Item
            name={[index, 'openFilter']}
            label={t('Only records where')}
            tooltip={t(
              'Mail is filed on a record by its e-mail addresses only while the record meets these conditions, for example Status is not Closed. Tokens in addresses and subjects link in any case.',
            )}
          >
            <OpenFilterInput key={rule?.name ?? ''} fields={fields} disabled={!rule?.name} />
          </Form.Item>
        </Col>
      </Row>
    </div>
  );
}

/** Subject token: off (no `subjectToken`) or `{ format }` with the {id} placeholder. */
function SubjectTokenInput({ id, value, onChange }: PickerProps<{ format?: string } | undefined>) {
  const { t } = useMailTranslation();
  const collections = Form.useWatch([...LINKING, 'collections']) as LinkCollectionValue[] | undefined;
  const on = Boolean(value);
  const example = on ? subjectExample(value?.format, collections) : undefined;
  return (
    <div>
      <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
        <Switch
          checked={on}
          onChange={(checked) => onChange?.(checked ? { format: value?.format || DEFAULT_SUBJECT_FORMAT } : undefined)}
          data-testid="linking-subject-token-switch"
        />
        <Typography.Text>{t('Recognise record tokens in the subject')}</Typography.Text>
      </div>
      {on && (
        <div style={{ marginTop: 12 }}>
          <Input
            id={id}
            value={value?.format ?? ''}
            onChange={(e) => onChange?.({ format: e.target.value })}
            placeholder={DEFAULT_SUBJECT_FORMAT}
            style={{ maxWidth: 280 }}
            data-testid="linking-subject-format"
          />
          {example && (
            <Typography.Paragraph type="secondary" style={{ margin: '6px 0 0' }} data-testid="linking-subject-example">
              {t('Example')}:{' '}
              <Typography.Text code>{t('Re: Heating failure {{token}}', { token: example })}</Typography.Text>
            </Typography.Paragraph>
          )}
        </div>
      )}
    </div>
  );
}

const SOURCE_LABELS: Record<ForwardSource, string> = {
  subject: 'Subject',
  fromAddress: "Sender's address",
  fromName: "Sender's name",
  text: 'Text of the mail',
};

/** Create by forward: off (no `createByForward`) or the target collection with message value -> field. */
function CreateByForwardInput({ value, onChange }: PickerProps<CreateByForwardValue | undefined>) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const { collections, loading } = useCollectionInfos();
  const configured = (Form.useWatch([...LINKING, 'collections']) as LinkCollectionValue[] | undefined) ?? [];
  const { fields, loading: fieldsLoading } = useFieldInfos(value?.collection);
  const on = Boolean(value);
  const fieldMap = value?.fieldMap ?? {};
  const fieldOf = (source: ForwardSource) =>
    Object.entries(fieldMap).find(([, s]) => s === source || (source === 'fromAddress' && s === 'from'))?.[0];
  const setSource = (source: ForwardSource, field: string | undefined) => {
    const next = Object.fromEntries(
      Object.entries(fieldMap).filter(
        ([f, s]) => s !== source && !(source === 'fromAddress' && s === 'from') && f !== field,
      ),
    );
    // with a contact lookup (set up through the API) the sender is stored as the contact record: source 'from'
    if (field) next[field] = source === 'fromAddress' && value?.contactLookup ? 'from' : source;
    onChange?.({ ...value, fieldMap: next });
  };
  return (
    <div>
      <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
        <Switch
          checked={on}
          onChange={(checked) =>
            onChange?.(checked ? { collection: configured.find((c) => c?.name)?.name, fieldMap: {} } : undefined)
          }
          data-testid="linking-forward-switch"
        />
        <Typography.Text>{t('Create a record for new mail to the agent address')}</Typography.Text>
      </div>
      {on && (
        <div
          style={{
            marginTop: 12,
            border: `1px solid ${token.colorBorderSecondary}`,
            borderRadius: token.borderRadiusLG,
            padding: '12px 16px',
            background: token.colorFillQuaternary,
          }}
        >
          <Row gutter={16} align="middle">
            <Col xs={24} md={8}>
              <Typography.Text>{t('Create in')}</Typography.Text>
            </Col>
            <Col xs={24} md={16}>
              <Select
                id="settings_linking_createByForward_collection"
                showSearch
                loading={loading}
                optionFilterProp="label"
                value={value?.collection}
                placeholder={t('Pick a collection')}
                options={collectionOptions(collections, t, value?.collection)}
                onChange={(collection) => onChange?.({ ...value, collection, fieldMap: {} })}
                style={{ width: '100%' }}
              />
            </Col>
          </Row>
          <Typography.Text type="secondary" style={{ display: 'block', margin: '12px 0 8px', fontSize: 12 }}>
            {t('Fill these fields of the new record')}
          </Typography.Text>
          {FORWARD_SOURCES.map((source) => (
            <Row gutter={16} align="middle" key={source} style={{ marginBottom: 8 }}>
              <Col xs={24} md={8}>
                <Typography.Text>{t(SOURCE_LABELS[source])}</Typography.Text>
                <Typography.Text type="secondary"> →</Typography.Text>
              </Col>
              <Col xs={24} md={16}>
                <Select
                  id={`settings_linking_createByForward_map_${source}`}
                  allowClear
                  showSearch
                  disabled={!value?.collection}
                  loading={fieldsLoading}
                  optionFilterProp="label"
                  value={fieldOf(source)}
                  placeholder={t('Not stored')}
                  options={fieldOptions(fields, t, isTextField, [fieldOf(source) ?? ''], source === 'fromAddress')}
                  onChange={(field) => setSource(source, field)}
                  style={{ width: '100%' }}
                />
              </Col>
            </Row>
          ))}
          <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12 }}>
            {t('A forwarded mail counts as from its original sender.')}
          </Typography.Text>
        </div>
      )}
    </div>
  );
}

function SwitchWithText({ id, value, onChange, text }: PickerProps<boolean> & { text: string }) {
  return (
    <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
      <Switch id={id} checked={Boolean(value)} onChange={(checked) => onChange?.(checked)} />
      <Typography.Text>{text}</Typography.Text>
    </div>
  );
}

/** "Linking": which records this account's mail is filed on, and how. */
export function LinkingSection() {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const form = Form.useFormInstance();
  const { error } = useCollectionInfos();
  const agentAddress = Form.useWatch([...LINKING, 'agentAddress'], form) as string | undefined;
  const accountAddress = Form.useWatch('address', form) as string | undefined;
  const collections = (Form.useWatch([...LINKING, 'collections'], form) as LinkCollectionValue[] | undefined) ?? [];
  const plusExample = useMemo(
    () =>
      plusAddressExample(
        agentAddress,
        collections.find((c) => c?.name),
      ),
    [agentAddress, collections],
  );
  const forwardOn = Boolean(Form.useWatch([...LINKING, 'createByForward'], form));

  return (
    <>
      <FormSection
        title={t('Linking to records')}
        testId="section-linking"
        description={t(
          'File this mailbox’s mail on records of your collections: by a token in the address or subject, or by the e-mail addresses stored on a record.',
        )}
      >
        {error && (
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 16 }}
            message={t('The collections could not be loaded.')}
            description={error}
          />
        )}
        <Typography.Text strong style={{ display: 'block', marginBottom: 8 }}>
          {t('Collections')}
        </Typography.Text>
        <Form.List name={[...LINKING, 'collections']}>
          {(items, { add, remove }) => (
            <>
              {!items.length && (
                <Typography.Paragraph type="secondary" data-testid="linking-no-collections">
                  {t('No collections yet: mail is only grouped into conversations.')}
                </Typography.Paragraph>
              )}
              {items.map((item) => (
                <CollectionRule key={item.key} index={item.name} onRemove={() => remove(item.name)} />
              ))}
              <Button
                type="dashed"
                block
                icon={<PlusOutlined />}
                onClick={() => add({ emailFields: [] })}
                data-testid="linking-add-collection"
                style={{ marginBottom: token.marginLG }}
              >
                {t('Add collection')}
              </Button>
            </>
          )}
        </Form.List>
        <Form.Item
          name={[...LINKING, 'agentAddress']}
          label={t('Agent address')}
          rules={[rules.address(t), ...(forwardOn ? [rules.required(t, t('Agent address'))] : [])]}
          extra={
            <span data-testid="linking-agent-hint">
              {t('Mail to a plus-address of it, agent+<token>@domain, is filed on that record.')}{' '}
              {plusExample && (
                <>
                  {t('Example')}:{' '}
                  <Typography.Text code style={{ whiteSpace: 'nowrap' }}>
                    {plusExample}
                  </Typography.Text>
                </>
              )}
            </span>
          }
        >
          <Input placeholder={accountAddress || 'agent@example.com'} autoComplete="off" />
        </Form.Item>
        <Form.Item
          name={[...LINKING, 'subjectToken']}
          label={t('Subject token')}
          rules={[
            {
              validator: async (_, v) => {
                if (v && v.format && !String(v.format).includes('{id}'))
                  throw new Error(t('The format needs the placeholder {id}.'));
              },
            },
          ]}
          extra={t(
            'Replies keep the token, so the mail finds its record even in a new conversation. Only senders stored on the record are trusted.',
          )}
        >
          <SubjectTokenInput />
        </Form.Item>
      </FormSection>

      <FormSection
        title={t('New records from mail')}
        testId="section-linking-create"
        description={t('Mail to the agent address that belongs to no record yet can start one, e.g. a support case.')}
      >
        <Form.Item
          name={[...LINKING, 'createByForward']}
          rules={[
            {
              validator: async (_, v) => {
                if (v && !v.collection) throw new Error(t('{{label}} is required.', { label: t('Collection') }));
              },
            },
          ]}
        >
          <CreateByForwardInput />
        </Form.Item>
      </FormSection>

      <FormSection title={t('Threading and limits')} testId="section-linking-limits">
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              name={[...LINKING, 'fuzzyThreadWindowDays']}
              label={t('Group by subject within')}
              rules={[rules.range(t, 0, 365)]}
              extra={t('0 = off: only real replies join a conversation.')}
            >
              <InputNumber
                min={0}
                max={365}
                precision={0}
                addonAfter={t('days')}
                style={{ width: '100%' }}
                placeholder="0"
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              name={[...LINKING, 'maxPerSenderPerHour']}
              label={t('New records per sender')}
              rules={[rules.range(t, 1, 10000)]}
              extra={t('More mail than this from one sender in an hour creates nothing and starts no workflow.')}
            >
              <InputNumber min={1} max={10000} precision={0} addonAfter={t('per hour')} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name={[...LINKING, 'importHistory']}
          label={t('Older mail')}
          extra={t('The first sync and a resync also create records and start workflows for the mail they find.')}
        >
          <SwitchWithText text={t('Also file the mail found by the first sync')} />
        </Form.Item>
      </FormSection>
    </>
  );
}
