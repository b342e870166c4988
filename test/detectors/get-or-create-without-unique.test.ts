import detector from '../../src/detectors/get-or-create-without-unique.js';
import { runTable } from './tester.js';

const djangoPlain = {
  path: 'crm/models.py',
  code: `from django.db import models


class Contact(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE)
    email = models.EmailField()

    class Meta:
        indexes = [models.Index(fields=["account", "email"])]
`,
};

const djangoUnique = {
  path: 'crm/models.py',
  code: `from django.db import models


class Contact(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE)
    email = models.EmailField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "email"], name="contact_once")]
`,
};

const djangoCode = `from .models import Contact


def upsert_contact(account, email, name):
    contact, created = Contact.objects.get_or_create(account=account, email=email, defaults={"name": name})
    return contact
`;

runTable(detector, {
  valid: [
    { name: 'django: unique constraint on the lookup columns', path: 'crm/services.py', extra: [djangoUnique], code: djangoCode },
    { name: 'django: model not in the diff (constraint may exist elsewhere)', path: 'crm/services.py', code: djangoCode },
    {
      name: 'rails: unique index in the migration',
      path: 'app/services/tagging.rb',
      extra: [
        {
          path: 'db/migrate/20240101000000_create_tags.rb',
          code: `class CreateTags < ActiveRecord::Migration[7.1]
  def change
    create_table :tags do |t|
      t.string :name
    end
    add_index :tags, :name, unique: true
  end
end`,
        },
      ],
      code: `class Tagging
  def tag!(post, name)
    tag = Tag.find_or_create_by!(name: name)
    post.tags << tag
  end
end`,
    },
    {
      name: 'rails: create_or_find_by inserts first',
      path: 'app/services/tagging.rb',
      extra: [{ path: 'db/migrate/20240101000000_create_tags.rb', code: `class CreateTags < ActiveRecord::Migration[7.1]\n  def change\n    create_table :tags do |t|\n      t.string :name\n    end\n  end\nend` }],
      code: `class Tagging
  def tag!(post, name)
    tag = Tag.create_or_find_by!(name: name)
    post.tags << tag
  end
end`,
    },
    {
      name: 'sequelize: findOrCreate with a unique column in the model',
      path: 'services/tags.js',
      extra: [
        {
          path: 'migrations/001-tags.sql',
          code: `CREATE TABLE tags (\n  id SERIAL PRIMARY KEY,\n  name TEXT NOT NULL UNIQUE\n);`,
        },
      ],
      code: `const { Tag } = require('../models');
async function ensureTag(name) {
  const [tag] = await Tag.findOrCreate({ where: { name } });
  return tag;
}
module.exports = { ensureTag };`,
    },
    {
      name: 'ordinary code: plain create',
      path: 'crm/services.py',
      extra: [djangoPlain],
      code: `from .models import Contact


def add_contact(account, email):
    return Contact.objects.create(account=account, email=email)
`,
    },
  ],
  invalid: [
    {
      name: 'django: get_or_create, model has a plain index only',
      path: 'crm/services.py',
      extra: [djangoPlain],
      code: djangoCode,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'rails: find_or_create_by! with the table in the migration and no unique index',
      path: 'app/services/tagging.rb',
      extra: [
        {
          path: 'db/migrate/20240101000000_create_tags.rb',
          code: `class CreateTags < ActiveRecord::Migration[7.1]
  def change
    create_table :tags do |t|
      t.string :name
    end
    add_index :tags, :name
  end
end`,
        },
      ],
      code: `class Tagging
  def tag!(post, name)
    tag = Tag.find_or_create_by!(name: name)
    post.tags << tag
  end
end`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'sequelize: findOrCreate on a table created without a unique column',
      path: 'services/tags.js',
      extra: [{ path: 'migrations/001-tags.sql', code: `CREATE TABLE tags (\n  id SERIAL PRIMARY KEY,\n  name TEXT NOT NULL\n);` }],
      code: `const { Tag } = require('../models');
async function ensureTag(name) {
  const [tag] = await Tag.findOrCreate({ where: { name } });
  return tag;
}
module.exports = { ensureTag };`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
  ],
});
